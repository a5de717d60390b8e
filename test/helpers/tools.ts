/** Whether the third-party programs some tests drive are installed on this machine. */
import { execFileSync } from 'node:child_process';

/** True when `command args` runs and exits 0 (e.g. `aws --version`, `tmux -V`). */
export function hasCommand(command: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The `dsn` CLI as a child process, for tests that drive it as a user would. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './paths.ts';

export const DSN_CLI = join(PROJECT_ROOT, 'bin', 'dsn.ts');

export interface DsnRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `dsn ARGS` to completion on this Node, in the project's folder, with `env` over this
 * process's environment (`DSN_ENDPOINT: url` to name the API); stdout and stderr are captured,
 * so neither is a TTY.
 */
export function runDsn(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<DsnRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [DSN_CLI, ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

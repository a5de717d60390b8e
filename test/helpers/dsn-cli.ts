/** The `dsn` CLI as a child process, for tests that drive it as a user would. */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
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

/** A `dsn` still running: signal it, write its stdin, read the stderr it wrote so far. */
export interface DsnProcess {
  child: ChildProcessWithoutNullStreams;
  stderr(): string;
  /** Its exit code (null when a signal ended it), once it has exited. */
  exited: Promise<number | null>;
}

/** Starts `dsn ARGS` as runDsn runs it, and returns at once; the caller ends it. */
export function startDsn(args: string[], env: Record<string, string | undefined> = {}): DsnProcess {
  const child = spawn(process.execPath, [DSN_CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.resume();
  // A child that exits before its stdin is written must not fail the writer.
  child.stdin.on('error', () => {});
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, stderr: () => stderr, exited };
}

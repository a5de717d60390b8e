/**
 * A fault-injection hook for tests, never for production: `DSN_REPLICATION_CRASH_AT` names a
 * point (ports.ts `CRASH_POINTS`) where the process running the controller or a worker kills
 * itself with SIGKILL the first time it gets there, as a crash or a lost machine would. On the
 * local cloud, functions run in worker threads of the cloud's own process, so the whole local
 * cloud dies. It prints `dsn replication: crashing at <point> (<detail>)` to stderr first.
 * Unset, it does nothing.
 */
import { killNow } from '../../crash.ts';
import { CRASH_POINTS, type CrashHook, type CrashPoint } from '../../replication/index.ts';

export function crashHook(value: string | undefined): CrashHook {
  if (!value) return async () => {};
  if (!(CRASH_POINTS as readonly string[]).includes(value))
    throw new Error(
      `DSN_REPLICATION_CRASH_AT must be one of ${CRASH_POINTS.join(', ')}, got "${value}"`,
    );
  const point = value as CrashPoint;
  return async (at, detail, first) => {
    if (at !== point) return;
    await first?.();
    killNow(`dsn replication: crashing at ${at} (${detail})`);
  };
}

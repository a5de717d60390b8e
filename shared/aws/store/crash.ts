/**
 * A fault-injection hook for tests, never for production: `DSN_DISPERSER_CRASH_AT` names a
 * point of a dispersal in steps (`DISPERSAL_CRASH_POINTS`) where the disperser's process kills
 * itself with SIGKILL the first time it gets there. On the local cloud, functions run in worker
 * threads of the cloud's own process, so the whole local cloud dies. It prints
 * `dsn disperser: crashing at <point> (<detail>)` to stderr first. Unset or empty, nothing.
 */
import { killNow } from '../../crash.ts';
import { DISPERSAL_CRASH_POINTS, type DispersalCrashPoint } from '../../store/index.ts';

export function dispersalCrashHook(
  value: string | undefined,
): ((point: DispersalCrashPoint, detail: string) => void) | undefined {
  if (!value) return undefined;
  if (!(DISPERSAL_CRASH_POINTS as readonly string[]).includes(value))
    throw new Error(
      `DSN_DISPERSER_CRASH_AT must be one of ${DISPERSAL_CRASH_POINTS.join(', ')}, got "${value}"`,
    );
  return (point, detail) => {
    if (point !== value) return;
    killNow(`dsn disperser: crashing at ${point} (${detail})`);
  };
}

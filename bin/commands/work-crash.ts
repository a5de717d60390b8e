/**
 * A fault-injection hook for tests, never for production: `DSN_WORK_CRASH_AT` makes a
 * `dsn work run` process kill itself with SIGKILL (no clean-up, no release, as a crash or a
 * lost machine would) at one point of the first item one of its workers owns:
 *
 * - `locked`: ownership taken (locks held, the record running), before the op starts;
 * - `mid-op`: inside the op, once it has opened its first input object;
 * - `before-delete`: the op's output written and committed, before the outcome is recorded
 *   and the function slices deleted.
 *
 * It prints `dsn work run: crashing at <point> (DSN_WORK_CRASH_AT) on <id> token <t>` to stderr
 * first, so a test can tell where the process died. Unset, nothing changes.
 */

import { killNow } from '../../shared/crash.ts';
import type { ObjectAccess, WorkerHooks } from '../../shared/work/index.ts';
import { UsageError } from '../errors.ts';

export const CRASH_POINTS = ['locked', 'mid-op', 'before-delete'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** The point `DSN_WORK_CRASH_AT` names, if any. @throws UsageError for an unknown one. */
export function crashPoint(env: Record<string, string | undefined>): CrashPoint | undefined {
  const value = env.DSN_WORK_CRASH_AT;
  if (value === undefined || value === '') return undefined;
  if (!(CRASH_POINTS as readonly string[]).includes(value))
    throw new UsageError(
      `DSN_WORK_CRASH_AT must be one of ${CRASH_POINTS.join(', ')}, got "${value}"`,
    );
  return value as CrashPoint;
}

function crash(point: CrashPoint, id: string, token: number): never {
  killNow(`dsn work run: crashing at ${point} (DSN_WORK_CRASH_AT) on ${id} token ${token}`);
}

/**
 * Hooks and an object-access wrapper that crash the process at `point`; `kill` is what
 * crashing does (the process's own SIGKILL unless a test passes one that never settles).
 */
export function crashHooks(
  point: CrashPoint,
  kill: (point: CrashPoint, id: string, token: number) => Promise<never> = async (p, id, t) =>
    crash(p, id, t),
): {
  hooks: WorkerHooks;
  objects(inner: ObjectAccess): ObjectAccess;
} {
  let owned: { id: string; token: number } | undefined;
  return {
    hooks: {
      async afterLocks(item, token) {
        owned = { id: item.id, token };
        if (point === 'locked') await kill(point, item.id, token);
      },
      async afterOutput(item, token) {
        if (point === 'before-delete') await kill(point, item.id, token);
      },
    },
    objects(inner) {
      if (point !== 'mid-op') return inner;
      return {
        list: (prefix) => inner.list(prefix),
        write: (key, body) => inner.write(key, body),
        async open(key) {
          const body = await inner.open(key);
          if (owned) await kill(point, owned.id, owned.token);
          return body;
        },
      };
    },
  };
}

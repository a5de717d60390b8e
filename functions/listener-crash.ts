/**
 * A fault-injection hook for tests, never for production: `DSN_LISTENER_CRASH_AT` makes a
 * delivery node's execution die (its process, or on the local cloud its worker thread, exits at
 * once: no answer, no acknowledgement, as a crash or a lost sandbox would) at one point:
 *
 * - `after-delivery`: a listener got the event and it was counted, before the node's batch is
 *   acknowledged (so the queue gives the whole batch again after its visibility timeout).
 *
 * With `DSN_LISTENER_CRASH_MARK` set to a file path, only the execution that creates that file
 * dies; the redeliveries run through. It prints `listener node: crashing at <point>
 * (DSN_LISTENER_CRASH_AT) after <listener> got <event id>` to stderr first. Unset, nothing changes.
 */
import { writeFileSync } from 'node:fs';
import type { NodeHooks } from '../shared/listeners/index.ts';

export const LISTENER_CRASH_POINTS = ['after-delivery'] as const;

/** The hooks `env` asks for, or none. @throws Error naming the variable for an unknown point. */
export function listenerCrashHooks(env: Record<string, string | undefined>): NodeHooks | undefined {
  const point = env.DSN_LISTENER_CRASH_AT;
  if (point === undefined || point === '') return undefined;
  if (!(LISTENER_CRASH_POINTS as readonly string[]).includes(point))
    throw new Error(
      `DSN_LISTENER_CRASH_AT must be one of ${LISTENER_CRASH_POINTS.join(', ')}, got "${point}"`,
    );
  const mark = env.DSN_LISTENER_CRASH_MARK;
  return {
    async afterDelivery(listener, eventId) {
      if (mark) {
        try {
          // Exclusive create: the first execution to get here is the one that dies.
          writeFileSync(mark, `${listener} ${eventId}\n`, { flag: 'wx' });
        } catch {
          return;
        }
      }
      process.stderr.write(
        `listener node: crashing at ${point} (DSN_LISTENER_CRASH_AT) after ${listener} got ${eventId}\n`,
      );
      process.exit(137);
    },
  };
}

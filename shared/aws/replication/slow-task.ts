/**
 * A fault-injection hook for tests, never for production: `DSN_REPLICATION_SLOW_TASK_MS` makes
 * a replication worker wait that many milliseconds after it claims each task and before it
 * copies any of it, as a worker on a slow host would be. The rebalancing test sets it on one
 * worker (the local cloud's `invoker.configure`). Unset or empty, it does nothing.
 */
import { z } from 'zod';
import type { Clock } from '../../clock.ts';
import type { SlowTaskHook } from '../../replication/index.ts';

const slowMs = z.coerce
  .number({ error: 'must be a number of milliseconds' })
  .int({ error: 'must be a whole number of milliseconds' })
  .min(0, { error: 'must be 0 or more' })
  .max(900_000, { error: 'must be at most 900000 (a worker lives 15 minutes at most)' });

export function slowTaskHook(value: string | undefined, clock: Clock): SlowTaskHook {
  if (value === undefined || value === '') return async () => {};
  const parsed = slowMs.safeParse(value);
  if (!parsed.success)
    throw new Error(
      `DSN_REPLICATION_SLOW_TASK_MS ${parsed.error.issues[0]?.message}, got "${value}"`,
    );
  const ms = parsed.data;
  return () => clock.sleep(ms);
}

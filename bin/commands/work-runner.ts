/** The workers of `dsn work run`, in this process, over the deployment's own adapters. */
import { hostname } from 'node:os';
import { runtime } from '../../shared/aws/runtime.ts';
import { wireWorker } from '../../shared/aws/work/wire.ts';
import { drainWork, OPEN_STATES } from '../../shared/work/index.ts';
import { crashHooks, crashPoint } from './work-crash.ts';

const IDLE_POLL_MS = 500;

/**
 * Runs `count` workers on `vault` until interrupted or, with `untilIdle`, until no open item is
 * left; returns how many items they ran. `leaseMs` is their lease (default the worker's);
 * `DSN_WORK_CRASH_AT` in `env` crashes the process at that point (`work-crash.ts`, tests only).
 */
export async function runLocalWorkers(
  env: Record<string, string | undefined>,
  vault: string,
  count: number,
  untilIdle: boolean,
  opts: { leaseMs?: number } = {},
): Promise<number> {
  const point = crashPoint(env);
  const rt = runtime('work', env);
  let ran = 0;
  let stop = false;
  process.once('SIGINT', () => {
    stop = true;
  });
  const workers = Array.from({ length: count }, (_, i) => {
    const { deps } = wireWorker(rt, `cli-${hostname()}-${process.pid}-${i}`);
    if (opts.leaseMs !== undefined) deps.leaseMs = opts.leaseMs;
    if (point) {
      const crash = crashHooks(point);
      const objects = deps.objects;
      deps.hooks = crash.hooks;
      deps.objects = (v) => crash.objects(objects(v));
    }
    return (async () => {
      while (!stop) {
        const n = await drainWork(deps, vault);
        ran += n;
        if (n > 0) continue;
        if (untilIdle) {
          const open = await deps.store.list(vault, { states: OPEN_STATES, limit: 1 });
          if (open.items.length === 0) return;
        }
        await rt.clock.sleep(IDLE_POLL_MS);
      }
    })();
  });
  await Promise.all(workers);
  return ran;
}

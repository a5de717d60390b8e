/** The workers of `dsn work run`, in this process, over the deployment's own adapters. */
import { hostname } from 'node:os';
import { runtime } from '../../shared/aws/runtime.ts';
import { wireWorker } from '../../shared/aws/work/wire.ts';
import { drainWork, OPEN_STATES, type WorkerDeps } from '../../shared/work/index.ts';
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
  // Wired once: the workers share one set of clients, connections and vault caches (a wiring
  // per worker made each its own S3 clients, twice); each has its own name, slot and hooks.
  const { deps: wired } = wireWorker(rt);
  const workers = Array.from({ length: count }, (_, i) => {
    const deps: WorkerDeps = {
      ...wired,
      owner: `cli-${hostname()}-${process.pid}-${i}`,
      // Its share of the list: workers of one process take disjoint items first.
      slot: { index: i, count },
      leaseMs: opts.leaseMs ?? wired.leaseMs,
    };
    if (point) {
      const crash = crashHooks(point);
      deps.hooks = crash.hooks;
      deps.objects = (v) => crash.objects(wired.objects(v));
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

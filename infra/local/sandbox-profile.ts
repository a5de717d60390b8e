/**
 * An opt-in CPU profile of each sandbox (`DSN_SANDBOX_CPU_PROFILE=DIR`), for finding where a
 * function's CPU goes. Node's `--cpu-prof` writes a worker thread's profile only when the thread
 * exits, and the cloud terminates its sandboxes, so here each sandbox profiles itself through
 * its own inspector session and writes what it gathered every PROFILE_EVERY_MS, one file per
 * sandbox and period (`<function>-<thread>-<n>.cpuprofile`, readable by Chrome's DevTools).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

const PROFILE_EVERY_MS = 5000;

/** Starts profiling this thread into `dir`, if a directory is named. */
export async function profileSandbox(dir: string | undefined, name: string): Promise<void> {
  if (!dir) return;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  let n = 0;
  const timer = setInterval(async () => {
    try {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(join(dir, `${name}-${threadId}-${n++}.cpuprofile`), JSON.stringify(profile));
      await session.post('Profiler.start');
    } catch {
      clearInterval(timer); // The thread is going away; what was written stays.
    }
  }, PROFILE_EVERY_MS);
  timer.unref();
}

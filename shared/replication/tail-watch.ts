/**
 * A job's end, watched as it comes (the controller's dispatch and wait steps): rather than leave
 * the last copies' end to the state machine's next look, a step reads what is left of the job
 * until it ends, within the step's watch time.
 */
import type { Clock } from '../clock.ts';
import type { JobLook } from './job-look.ts';
import type { ReplicationLog } from './ports.ts';
import { type ReplicationTask, unfinished } from './task.ts';

/** At most this many unfinished tasks are watched one by one at a job's end (watchTail). */
export const TAIL_TASKS = 8;

/**
 * Up to this many unfinished tasks, all in flight, are watched through the open index until
 * TAIL_TASKS are left (watchTail). Not more: a step that watches holds its function for the
 * watch time, which is cheap for a job's last moments, not for the whole of a long job.
 */
export const TAIL_INDEX_TASKS = 64;

/** How often the tail's tasks are read while watched. */
export const TAIL_LOOK_MS = 200;

/**
 * A job's end, seen as it comes: when every task left is in flight (queued, running, or asked
 * to stop), watches them for up to `watchMs`, rather than leaving the last copy's end to the
 * state machine's next look (its pause is seconds). While more than TAIL_TASKS are left (at
 * most TAIL_INDEX_TASKS, and the look came from the open index), one read of the index every TAIL_LOOK_MS, of at most
 * TAIL_TASKS + 1 tasks, says when few enough are; then just those are read, every TAIL_LOOK_MS.
 * Stops early when one of them needs the controller (failed with attempts left, or stopped:
 * the next look sends it).
 * @returns `ended` when every watched task ended (done, or failed for good) within `watchMs`,
 *   `watched` when the watch waited and they did not, `skipped` when there was nothing to watch.
 */
export async function watchTail(
  deps: { log: Pick<ReplicationLog, 'openTasks' | 'getTask'>; clock: Clock },
  jobId: string,
  look: Pick<JobLook, 'tasks' | 'open'>,
  watchMs: number,
): Promise<{
  outcome: 'ended' | 'watched' | 'skipped';
  /**
   * Each watched task as last read (undefined: gone from the log), and each the open index no
   * longer showed, as done (only a done task leaves it).
   */
  read: Map<string, ReplicationTask | undefined>;
}> {
  const inFlight = (t: ReplicationTask) =>
    t.state === 'queued' || t.state === 'running' || t.state === 'stopping';
  const read = new Map<string, ReplicationTask | undefined>();
  let left = look.tasks.filter(unfinished);
  if (
    watchMs <= 0 ||
    left.length > TAIL_INDEX_TASKS ||
    !left.every(inFlight) ||
    (left.length > TAIL_TASKS && !look.open)
  )
    return { outcome: 'skipped', read };
  const until = deps.clock.now() + watchMs;
  while (left.length > TAIL_TASKS) {
    if (deps.clock.now() >= until) return { outcome: 'watched', read };
    await deps.clock.sleep(Math.min(TAIL_LOOK_MS, until - deps.clock.now()));
    const page = await deps.log.openTasks(jobId, TAIL_TASKS + 1);
    // A task done just now may still show in the index (eventually consistent on AWS).
    const open = page.tasks.filter(unfinished);
    if (!open.every(inFlight)) return { outcome: 'watched', read };
    if (page.cursor !== undefined || open.length > TAIL_TASKS) continue;
    const still = new Set(open.map((t) => t.id));
    for (const t of left) if (!still.has(t.id)) read.set(t.id, { ...t, state: 'done' });
    left = open;
    if (left.length === 0) return { outcome: 'ended', read };
  }
  while (deps.clock.now() < until) {
    await deps.clock.sleep(Math.min(TAIL_LOOK_MS, until - deps.clock.now()));
    const now = await Promise.all(left.map((t) => deps.log.getTask(jobId, t.id)));
    for (const [i, t] of left.entries()) read.set(t.id, now[i]);
    left = now.filter((t): t is ReplicationTask => t !== undefined && unfinished(t));
    if (left.length === 0) return { outcome: 'ended', read };
    if (!left.every(inFlight)) break;
  }
  return { outcome: 'watched', read };
}

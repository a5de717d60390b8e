/**
 * A look at a job's tasks, as the controller's steps and the API take it. A planned one-off job
 * keeps its plan's totals in its record (job.ts `totals`), and a done task never comes back, so
 * a look reads only the tasks not done, from the log's sparse index, and counts the rest as
 * done: a step's cost follows what is left of the job, not its size. A job without totals (a
 * standing job, or one planned before they were kept) is read whole.
 *
 * The index is read eventually consistent. A task it does not show yet (just planned) is only
 * sent at a later look; a job is never seen finished on the index's word alone
 * (`confirmFinished` reads the whole job, consistently, once its end is in sight).
 */
import type { JobTotals, ReplicationJob } from './job.ts';
import type { ReplicationLog, TaskPage } from './ports.ts';
import { bytesOfParts, type ReplicationTask, unfinished } from './task.ts';

/** Tasks read from the log per page. */
const PAGE = 500;

export interface TaskCounts {
  total: number;
  done: number;
  failed: number;
  pending: number;
}

export interface JobLook {
  /** Every task of the job, or (with totals) every one not done. */
  tasks: ReplicationTask[];
  counts: TaskCounts;
  /** Whether `tasks` came from the open index (so done tasks are missing from it). */
  open: boolean;
}

async function pages(
  read: (cursor: string | undefined) => Promise<TaskPage>,
): Promise<ReplicationTask[]> {
  const tasks: ReplicationTask[] = [];
  let cursor: string | undefined;
  do {
    const page = await read(cursor);
    tasks.push(...page.tasks);
    cursor = page.cursor;
  } while (cursor);
  return tasks;
}

/** Every task of the job, read consistently (the log pages through them). */
export function allTasks(log: Pick<ReplicationLog, 'tasks'>, jobId: string) {
  return pages((cursor) => log.tasks(jobId, PAGE, cursor));
}

/** The job's tasks not done, from the open index. */
export function openTasks(log: Pick<ReplicationLog, 'openTasks'>, jobId: string) {
  return pages((cursor) => log.openTasks(jobId, PAGE, cursor));
}

/** Counts of all of a job's tasks, as the API and the wait step report them. */
export function tally(tasks: ReplicationTask[]): TaskCounts {
  let done = 0;
  let failed = 0;
  for (const t of tasks) {
    if (t.state === 'done') done++;
    else if (!unfinished(t)) failed++;
  }
  return { total: tasks.length, done, failed, pending: tasks.length - done - failed };
}

/** Counts from the tasks not done and the plan's total: the others are done. */
export function tallyOpen(open: ReplicationTask[], total: number): TaskCounts {
  let failed = 0;
  let pending = 0;
  for (const t of open) {
    // A task done just now may still show in the index: it is done.
    if (t.state === 'done') continue;
    if (unfinished(t)) pending++;
    else failed++;
  }
  return { total, done: Math.max(0, total - failed - pending), failed, pending };
}

/** A look at the job: only its tasks not done when its plan's totals are kept, else all. */
export async function lookAt(
  log: Pick<ReplicationLog, 'tasks' | 'openTasks'>,
  job: ReplicationJob,
): Promise<JobLook> {
  if (!job.totals) {
    const tasks = await allTasks(log, job.id);
    return { tasks, counts: tally(tasks), open: false };
  }
  const tasks = (await openTasks(log, job.id)).filter((t) => t.state !== 'done');
  return { tasks, counts: tallyOpen(tasks, job.totals.tasks), open: true };
}

/**
 * The counts of a look that shows nothing left, confirmed by a consistent read of the whole job
 * when the look came from the index (a task it does not show yet is not done). Once per job's
 * end: the step that sees the end reads the job whole, as finalize does.
 */
export async function confirmFinished(
  log: Pick<ReplicationLog, 'tasks'>,
  jobId: string,
  look: Pick<JobLook, 'counts' | 'open'>,
): Promise<TaskCounts> {
  if (look.counts.pending > 0 || !look.open) return look.counts;
  return tally(await allTasks(log, jobId));
}

/** The plan's totals, counted in the log (which holds every task of the plan, and no other). */
export function totalsOf(tasks: ReplicationTask[]): JobTotals {
  let bytes = 0;
  for (const t of tasks) if (t.kind === 'copy') bytes += t.size;
  return { tasks: tasks.length, bytes };
}

/**
 * The bytes of the job's copies, and how many are copied: a done copy counts whole, one under
 * way by its parts done. From a look at the open tasks, the total is the plan's.
 */
export function bytesOf(
  look: JobLook,
  job: Pick<ReplicationJob, 'partSize' | 'totals'>,
): { total: number; copied: number } {
  const copies = look.tasks.filter((t) => t.kind === 'copy');
  const total = look.open && job.totals ? job.totals.bytes : copies.reduce((n, t) => n + t.size, 0);
  let left = 0;
  for (const t of copies)
    if (t.state !== 'done') left += t.size - bytesOfParts(t.partsDone, job.partSize, t.size);
  return { total, copied: total - left };
}

/**
 * Migration (seed 004, the first page): a copy asked to move stops within a look at the log
 * (worker.ts STOP_WATCH_MS), leaving the part in flight; its worker reports `stopped` with the
 * parts done, and the remainder of the same upload goes to the next worker. The remainder
 * leaves as soon as that status is logged, from the status log's consumer (status-log.ts),
 * rather than at the controller's next look after its pause; the controller still sends it when the consumer did not (it died after logging, or the stop was
 * the worker's own, at its deadline, where the controller picks the next worker).
 *
 * Exactly one sender wins: both send the remainder as attempt `stopped attempt + 1` through the
 * log's conditional `markDispatched` (the task's attempts are the migration's generation), and
 * only the one whose write changed the log sends. A `stopped` delivered twice, or after the
 * remainder left, finds the attempts already raised and sends nothing; one delivered again after
 * a run died between the mark and the send (SQS counts the receives) sends the remainder as the
 * next attempt (lost-dispatch.ts).
 */
import type { Logger } from '../log.ts';
import type { ReplicationJob } from './job.ts';
import { resendIfLost, unlessLostSend } from './lost-dispatch.ts';
import type { ReplicationLog, WorkerQueues } from './ports.ts';
import { sendTask } from './send-task.ts';
import type { Delivery, TaskStatus } from './status.ts';
import { holderOf, type ReplicationTask } from './task.ts';

export interface RemainderDeps {
  log: Pick<ReplicationLog, 'getJob' | 'getTask' | 'markDispatched' | 'countJob'>;
  queues: WorkerQueues;
  logger: Logger;
}

/** How long a standing job's remainder waits in the queue for its checkpoints to reach the log. */
const CHECKPOINTS_DELAY_SECONDS = 5;

/** Whether the log holds the ETag of each of parts 1..partsDone, which the next worker resumes after. */
function checkpointsWhole(task: ReplicationTask): boolean {
  for (let part = 1; part <= task.partsDone; part++)
    if (task.etags[String(part)] === undefined) return false;
  return true;
}

/**
 * After a `stopped` status is logged: sends the remainder of a task asked to move to the worker
 * named for it, unless someone sent it already. Running it twice, or on a stale status, sends
 * nothing more.
 * @returns whether this call sent the remainder.
 */
export async function sendRemainderOnce(
  deps: RemainderDeps,
  status: TaskStatus,
  delivery?: Delivery,
  known: { job?: ReplicationJob | undefined; task?: ReplicationTask | undefined } = {},
): Promise<boolean> {
  if (status.type !== 'stopped') return false;
  // What the caller read already (the job), or what the stop's own write returned (the task),
  // is not read again: the pause waits for each round trip.
  const [job, task] = await Promise.all([
    'job' in known ? known.job : deps.log.getJob(status.jobId),
    known.task ?? deps.log.getTask(status.jobId, status.taskId),
  ]);
  if (job?.state !== 'running' || !task) return false;
  // Already sent (attempts raised), or this status is not the one that stopped the task.
  if (task.state !== 'stopped' || task.attempts !== status.attempt)
    // Unless this is the stop delivered again, and the remainder it marked may never have left.
    return resendIfLost(deps, task, {
      marked: status.attempt + 1,
      delivery,
      round: job.round,
      keepSource: true,
      what: 'remainder',
    });
  // Stopped at its deadline, not asked: a one-off job's controller picks the least loaded other
  // worker. A standing job has no controller: its own worker goes on with the remainder.
  const to = task.migrateTo ?? (job.continuous ? (holderOf(task) ?? 0) : undefined);
  if (to === undefined || to < 0 || to >= deps.queues.count) return false;
  // A checkpoint not logged yet (its `part` status still on its way) would be written again by
  // the next worker: the controller sends it once its pause is over. A standing job's remainder
  // leaves now, but waits in the queue for the checkpoints to land.
  const whole = checkpointsWhole(task);
  if (!whole && !job.continuous) return false;
  const attempt = task.attempts + 1;
  // The count is for the API to show; the message is what the pause waits for: both at once.
  const won = await sendTask(deps, task, {
    attempt,
    round: job.round,
    worker: to,
    keepSource: true,
    ...(whole ? {} : { delaySeconds: CHECKPOINTS_DELAY_SECONDS }),
    alongside: () => deps.log.countJob(job.id, 'migrations'),
  });
  if (!won) {
    await unlessLostSend(deps, status.jobId, status.taskId, attempt);
    return false;
  }
  deps.logger.info('replication remainder sent', {
    jobId: job.id,
    taskId: task.id,
    to,
    attempt,
    after: task.partsDone,
  });
  return true;
}

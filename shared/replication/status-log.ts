/**
 * The status queue's consumer: every status a worker sends is applied to the job's log,
 * idempotently and in any order (the log's conditions decide; ports.ts `applyStatus`). A
 * status of a job the log does not know is dropped: nothing could read it. Once a `stopped` is
 * logged, the remainder of a copy asked to move leaves from here (migration.ts); once a
 * `failed` is, a standing job's task is sent again from here (standing-retry.ts).
 */
import type { Logger } from '../log.ts';
import { sendRemainderOnce } from './migration.ts';
import type { ReplicationLog, WorkerQueues } from './ports.ts';
import { retryStandingTaskOnce } from './standing-retry.ts';
import type { Delivery, TaskStatus } from './status.ts';

export interface StatusLogDeps {
  log: ReplicationLog;
  /** Where a migrated copy's remainder, and a standing job's retried task, go. */
  queues: WorkerQueues;
  logger: Logger;
}

/** A job's part size never changes: read once per process. */
const partSizes = new Map<string, number>();

/**
 * Applies `status` to the log; running it twice changes nothing more. `delivery` tells a status
 * delivered again, whose earlier run may have died between a dispatch's mark and its send.
 */
export async function recordStatusOnce(
  deps: StatusLogDeps,
  status: TaskStatus,
  delivery?: Delivery,
): Promise<boolean> {
  let partSize = partSizes.get(status.jobId);
  if (partSize === undefined) {
    const job = await deps.log.getJob(status.jobId);
    if (!job) {
      deps.logger.warn('status of an unknown replication job dropped', { ...status });
      return false;
    }
    partSize = job.partSize;
    partSizes.set(status.jobId, partSize);
  }
  // A stop's remainder waits for the job's read: made beside the stop's write.
  const [applied, job] = await Promise.all([
    deps.log.applyStatus(status, partSize),
    status.type === 'stopped' ? deps.log.getJob(status.jobId) : undefined,
  ]);
  // Also when this delivery changed nothing: an earlier one may have logged the stop and died
  // before sending; the remainder's conditional dispatch keeps the send to one.
  if (status.type === 'stopped')
    await sendRemainderOnce(deps, status, delivery, { job, task: applied.stopped });
  // Likewise: the retry's conditional dispatch keeps it to one.
  if (status.type === 'failed') await retryStandingTaskOnce(deps, status, delivery);
  return applied.changed;
}

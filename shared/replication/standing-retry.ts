/**
 * Retries of a standing job's failed tasks (a vault's continuous rule). A one-off job's failed
 * tasks are sent again by its controller at each look; a standing job has no controller, so its
 * failed task is sent again from the status log's consumer as soon as the failure is logged,
 * after a delay that grows with each attempt, to the same worker (a key's tasks queue behind
 * each other there), until MAX_ATTEMPTS: then it stays failed, visible in the job's tasks.
 *
 * Exactly one retry per failure: it is attempt `failed attempt + 1` through the log's
 * conditional `markDispatched`, so a `failed` delivered twice, or late, sends nothing more. A
 * `failed` delivered again after a run died between the mark and the send (SQS counts the
 * receives) sends the retry as the next attempt (lost-dispatch.ts).
 */
import type { Logger } from '../log.ts';
import { resendIfLost, unlessLostSend } from './lost-dispatch.ts';
import type { ReplicationLog, WorkerQueues } from './ports.ts';
import { sendTask } from './send-task.ts';
import type { Delivery, TaskStatus } from './status.ts';
import { holderOf, MAX_ATTEMPTS } from './task.ts';

export interface StandingRetryDeps {
  log: Pick<ReplicationLog, 'getJob' | 'getTask' | 'markDispatched'>;
  queues: WorkerQueues;
  logger: Logger;
}

/** Seconds before a retry of a task whose attempt `attempt` failed: 5, then 20 (at most 900). */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(900, 5 * 4 ** Math.max(0, attempt - 1));
}

/**
 * After a `failed` status is logged: sends a standing job's task again, unless it has had its
 * attempts or someone sent it already. Running it twice sends nothing more.
 * @returns whether this call sent the retry.
 */
export async function retryStandingTaskOnce(
  deps: StandingRetryDeps,
  status: TaskStatus,
  delivery?: Delivery,
): Promise<boolean> {
  if (status.type !== 'failed') return false;
  const [job, task] = await Promise.all([
    deps.log.getJob(status.jobId),
    deps.log.getTask(status.jobId, status.taskId),
  ]);
  if (!job?.continuous || job.state !== 'running' || !task) return false;
  // Sent again already (attempts raised), or this status is not the task's last failure.
  if (task.state !== 'failed' || task.attempts !== status.attempt)
    // Unless this is the failure delivered again, and the retry it marked may never have left.
    return resendIfLost(deps, task, {
      marked: status.attempt + 1,
      delivery,
      round: job.round,
      keepSource: false,
      delaySeconds: retryDelaySeconds(status.attempt),
      what: 'retry of a continuous rule',
    });
  if (task.attempts >= MAX_ATTEMPTS) {
    deps.logger.warn('replication task of a continuous rule failed for good', {
      jobId: job.id,
      taskId: task.id,
      key: task.key,
      attempts: task.attempts,
      error: task.error,
    });
    return false;
  }
  const attempt = task.attempts + 1;
  const delay = retryDelaySeconds(task.attempts);
  const won = await sendTask(deps, task, {
    attempt,
    round: job.round,
    worker: holderOf(task) ?? 0,
    keepSource: false,
    delaySeconds: delay,
  });
  if (!won) {
    await unlessLostSend(deps, status.jobId, status.taskId, attempt);
    return false;
  }
  deps.logger.info('replication task of a continuous rule sent again', {
    jobId: job.id,
    taskId: task.id,
    attempt,
    delaySeconds: delay,
  });
  return true;
}

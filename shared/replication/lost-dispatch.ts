/**
 * A lost dispatch. Sending a task is two steps: mark it sent in the log (a conditional update,
 * so one dispatcher wins), then send its message. A process that dies between the two leaves the
 * task `queued` with no message on its way, and when the same step runs again (its trigger is
 * delivered again), it loses the mark to its own first run and would send nothing: the task
 * would wait forever. A run that may follow an unfinished run of itself therefore sends the
 * task again when it finds it still queued at the attempt that run marked, no worker having
 * claimed it: as the next attempt, to the same worker. If the first message did go after all,
 * it is stale now, and its worker drops it at the claim (worker.ts `claimTask` is conditional on
 * the attempt), so the copy still runs once; the price is one message more.
 */
import type { Logger } from '../log.ts';
import type { ReplicationLog } from './ports.ts';
import { type SendTaskDeps, sendTask } from './send-task.ts';
import { type Delivery, redelivered } from './status.ts';
import { holderOf, type ReplicationTask } from './task.ts';

/**
 * Whether `task`, as read, looks like the dispatch of attempt `attempt` was marked and its
 * message may never have left: still queued at that attempt (not claimed, not moved since).
 */
export function markedNotClaimed(task: ReplicationTask, attempt: number): boolean {
  return task.state === 'queued' && task.attempts === attempt;
}

/**
 * Sends `task` (read as `markedNotClaimed`) again as its next attempt, to the worker it was
 * marked for. Only while it is still queued: a claim or another resend meanwhile wins.
 * @returns the attempt sent, or undefined when someone got there first.
 */
export async function resendLostDispatch(
  deps: SendTaskDeps,
  task: ReplicationTask,
  f: { round: number; keepSource: boolean; delaySeconds?: number },
): Promise<number | undefined> {
  const attempt = task.attempts + 1;
  const won = await sendTask(deps, task, {
    ...f,
    attempt,
    worker: holderOf(task) ?? 0,
    onlyQueued: true,
  });
  return won ? attempt : undefined;
}

/**
 * For a step run on a status: when that status was delivered again (an earlier run may have died
 * midway) and the task is still queued at the attempt that run marked (`marked`), unclaimed,
 * sends it again as the next attempt. `what` names the dispatch in the log line.
 * @returns whether this call sent it.
 */
export async function resendIfLost(
  deps: SendTaskDeps & { logger: Logger },
  task: ReplicationTask,
  c: {
    marked: number;
    delivery: Delivery | undefined;
    round: number;
    keepSource: boolean;
    delaySeconds?: number;
    what: string;
  },
): Promise<boolean> {
  if (!redelivered(c.delivery) || !markedNotClaimed(task, c.marked)) return false;
  const attempt = await resendLostDispatch(deps, task, c);
  if (attempt === undefined) return false;
  deps.logger.warn(`replication ${c.what} sent again after a lost dispatch`, {
    jobId: task.jobId,
    taskId: task.id,
    attempt,
  });
  return true;
}

/** Thrown by a step run on a status when it lost a dispatch's mark that may not have been sent. */
export class DispatchInDoubtError extends Error {
  override name = 'DispatchInDoubtError';
  constructor(taskId: string, attempt: number) {
    super(
      `task ${taskId}: another run marked attempt ${attempt} and it is not claimed yet; the status comes again, to send it should that run have died before its message left`,
    );
  }
}

/**
 * After a step run on a status lost the mark of attempt `attempt`: when the task is still queued
 * at that attempt, unclaimed, the run that won may yet die before its message leaves (a
 * duplicate delivery of the same status, whose acknowledgement deletes the message for both
 * copies; or this run's own mark, whose answer was lost and whose retry was refused). It then
 * throws, so that the status comes again and `resendIfLost` sends the task should it still wait.
 * @throws DispatchInDoubtError
 */
export async function unlessLostSend(
  deps: { log: Pick<ReplicationLog, 'getTask'> },
  jobId: string,
  taskId: string,
  attempt: number,
): Promise<void> {
  const now = await deps.log.getTask(jobId, taskId);
  if (now && markedNotClaimed(now, attempt)) throw new DispatchInDoubtError(taskId, attempt);
}

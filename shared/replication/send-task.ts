/**
 * Sending one task: mark it sent in the log as an attempt, to a worker (a conditional update,
 * so one sender wins), then send that attempt's message to the worker's queue. Only the sender
 * whose mark changed the log sends. A process dying between the two steps leaves the task
 * marked with no message on its way: lost-dispatch.ts says when a sender sends it again.
 *
 * The controller's dispatch and a standing job's restart do the same for many tasks at once: a
 * chunk of marks, then the won ones' messages batched per worker (`sendByWorker`); `sendTask` is
 * the one-task form every status-driven sender uses.
 */
import type { ReplicationLog, WorkerQueues } from './ports.ts';
import type { TaskMessage } from './status.ts';
import type { ReplicationTask } from './task.ts';

/** Messages sent to a queue at a time (SQS SendMessageBatch takes ten). */
const SEND_BATCH = 10;

export interface SendTaskDeps {
  log: Pick<ReplicationLog, 'markDispatched'>;
  queues: WorkerQueues;
}

export interface TaskSend {
  attempt: number;
  round: number;
  worker: number;
  /** The upload under way stays (a remainder, a resumed copy). */
  keepSource: boolean;
  /** Only while the task is still queued: a worker's claim meanwhile wins. */
  onlyQueued?: boolean;
  /** The message waits this long in the queue (a retry's backoff). */
  delaySeconds?: number;
  /** Runs beside the send once the mark is won (a count for the API to show). */
  alongside?: () => Promise<unknown>;
}

/** Marks `task` sent as `s.attempt` to `s.worker` and sends it. @returns whether this call won. */
export async function sendTask(
  deps: SendTaskDeps,
  task: ReplicationTask,
  s: TaskSend,
): Promise<boolean> {
  const won = await deps.log.markDispatched(task, {
    attempt: s.attempt,
    round: s.round,
    worker: s.worker,
    keepSource: s.keepSource,
    ...(s.onlyQueued ? { onlyQueued: true } : {}),
  });
  if (!won) return false;
  const message = { jobId: task.jobId, taskId: task.id, attempt: s.attempt };
  await Promise.all([deps.queues.send(s.worker, [message], s.delaySeconds), s.alongside?.()]);
  return true;
}

/**
 * Sends each message to its worker's queue, grouped by worker, SEND_BATCH at a time;
 * `afterBatch` runs after each batch with how many it carried.
 */
export async function sendByWorker(
  queues: WorkerQueues,
  messages: Array<{ worker: number; message: TaskMessage }>,
  afterBatch: (count: number) => Promise<void> = async () => {},
): Promise<void> {
  const byWorker = new Map<number, TaskMessage[]>();
  for (const { worker, message } of messages) {
    const list = byWorker.get(worker) ?? [];
    list.push(message);
    byWorker.set(worker, list);
  }
  for (const [worker, list] of byWorker)
    for (let k = 0; k < list.length; k += SEND_BATCH) {
      const batch = list.slice(k, k + SEND_BATCH);
      await queues.send(worker, batch);
      await afterBatch(batch.length);
    }
}

/**
 * A worker's batch: the task messages one invocation gets from its queue (up to ten), run one
 * after the other. Their ends share round trips: a task's last status (`done`, `failed`) is held
 * and goes out with the others in one batch send, at the end of the batch, when STATUS_BATCH are
 * held, when one is older than STATUS_HOLD_MS, or with the next status that cannot wait (a
 * part's checkpoint, a stop). A held status that could not be sent fails its record, which
 * SQS delivers again; that delivery claims the task again, finds its copy finished (one HEAD),
 * and reports it.
 *
 * Near the function's time limit (less than the margin left) no further task is started: the
 * records not begun are handed back to the queue at once, for the next invocation, rather than
 * left to the queue's visibility timeout.
 */
import type { Clock } from '../clock.ts';
import type { StatusBatches, StatusQueue, WorkerInbox } from './ports.ts';
import { parseTaskMessage, type TaskStatus } from './status.ts';
import { runTask, type WorkerDeps } from './worker.ts';

/** Statuses sent at once (SQS SendMessageBatch takes ten). */
export const STATUS_BATCH = 10;

/** A held status waits at most about this long (checked between tasks). */
export const STATUS_HOLD_MS = 500;

/** One message of the batch, as the queue delivered it. */
export interface TaskRecord {
  /** The record's id in the batch (what a failure names). */
  id: string;
  body: string;
  /** The queue's receipt of this delivery: how a record not begun is handed back. */
  receipt: string;
  /** SQS `ApproximateReceiveCount`. */
  received: number;
}

export interface WorkerBatchDeps extends WorkerDeps {
  statuses: StatusBatches;
  inbox: WorkerInbox;
}

/** The records that failed (each returns to the queue), with why. */
export type BatchFailures = Map<string, unknown>;

/** Why a record returns to the queue unbegun: too little time was left to start it. */
export class HandedBackError extends Error {
  constructor() {
    super('not begun: the function was near its time limit');
    this.name = 'HandedBackError';
  }
}

/** Statuses held for one batch, each owned by the record that reported it. */
class HeldStatuses {
  private held: Array<{ owner: string; status: TaskStatus }> = [];
  private since = 0;
  private readonly queue: StatusBatches;
  private readonly clock: Clock;
  readonly failed: BatchFailures = new Map();

  constructor(queue: StatusBatches, clock: Clock) {
    this.queue = queue;
    this.clock = clock;
  }

  /** The status queue one record reports through. */
  for(owner: string): StatusQueue {
    return {
      send: async (status) => {
        if (status.type === 'done' || status.type === 'failed') {
          if (this.held.length === 0) this.since = this.clock.now();
          this.held.push({ owner, status });
          return;
        }
        // A status that cannot wait takes the held ones with it; a failure is its own record's.
        const out = this.take();
        try {
          await this.queue.sendAll([...out.map((h) => h.status), status]);
        } catch (err) {
          this.fail(out, err);
          throw err;
        }
      },
    };
  }

  /** Sends what is held when the batch is full or the oldest has waited long enough. */
  async flushIfDue(): Promise<void> {
    if (
      this.held.length >= STATUS_BATCH ||
      (this.held.length > 0 && this.clock.now() - this.since >= STATUS_HOLD_MS)
    )
      await this.flush();
  }

  async flush(): Promise<void> {
    const out = this.take();
    if (out.length === 0) return;
    try {
      await this.queue.sendAll(out.map((h) => h.status));
    } catch (err) {
      this.fail(out, err);
    }
  }

  private take(): Array<{ owner: string; status: TaskStatus }> {
    const out = this.held;
    this.held = [];
    return out;
  }

  private fail(out: Array<{ owner: string }>, err: unknown): void {
    for (const { owner } of out) if (!this.failed.has(owner)) this.failed.set(owner, err);
  }
}

/**
 * A record's body as sent again at a deadline: its receives so far ride along, so the new
 * message is not taken for a first delivery. A body that does not parse goes as it came (its
 * run will refuse it again).
 */
function requeuedBody(record: TaskRecord): string {
  try {
    const message = parseTaskMessage(record.body);
    return JSON.stringify({ ...message, received: (message.received ?? 0) + record.received });
  } catch {
    return record.body;
  }
}

/**
 * Runs the batch's tasks in order. @returns the records that failed: a message that does not
 * parse, a task whose status could not be sent, and the records handed back at the deadline.
 */
export async function runTaskBatch(
  deps: WorkerBatchDeps,
  records: readonly TaskRecord[],
): Promise<BatchFailures> {
  const held = new HeldStatuses(deps.statuses, deps.clock);
  const failed: BatchFailures = new Map();
  for (const [i, record] of records.entries()) {
    if (i > 0 && deps.remainingMs() < deps.deadlineMarginMs) {
      const rest = records.slice(i);
      // Sent again as new messages, and these deleted (they are not failures): the same
      // messages made visible again would count a receive each time, and a record handed back
      // at five deadlines in a row would go to the dead-letter queue unbegun.
      try {
        await deps.inbox.requeue(rest.map(requeuedBody));
        break;
      } catch (err) {
        // Some may have gone: a message twice is a claim refused or an idempotent copy.
        deps.logger.warn('replication records not sent again; handing them back', {
          records: rest.length,
          error: (err as Error).message,
        });
      }
      try {
        await deps.inbox.handBack(rest.map((r) => r.receipt));
      } catch (err) {
        // They come back after the queue's visibility timeout instead.
        deps.logger.warn('replication records not handed back', {
          records: rest.length,
          error: (err as Error).message,
        });
      }
      for (const r of rest) failed.set(r.id, new HandedBackError());
      break;
    }
    try {
      const message = parseTaskMessage(record.body);
      await runTask({ ...deps, statuses: held.for(record.id) }, message, {
        received: record.received + (message.received ?? 0),
      });
    } catch (err) {
      failed.set(record.id, err);
    }
    await held.flushIfDue();
  }
  await held.flush();
  for (const [id, err] of held.failed) if (!failed.has(id)) failed.set(id, err);
  return failed;
}

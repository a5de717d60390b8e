/**
 * What goes through the status queue into the log: a worker's word on a task (a part done, done,
 * failed, stopped at a part boundary), with its load. Applying one is idempotent and order-free
 * (the log's conditions, ports.ts `applyStatus`): SQS delivers at least once, in any order.
 * `started` is still applied, for workers of an earlier release; a worker now claims its task
 * in the log instead (ports.ts `claimTask`), which a rebalancing move cannot overtake.
 */
import { z } from 'zod';
import { integer, parseJsonWith, resourceId, strictObject } from '../validate.ts';

export const STATUS_TYPES = ['started', 'part', 'done', 'failed', 'stopped'] as const;
export type StatusType = (typeof STATUS_TYPES)[number];

export interface TaskStatus {
  jobId: string;
  taskId: string;
  /** The attempt the worker was sent (task.attempts when it was dispatched). */
  attempt: number;
  worker: number;
  type: StatusType;
  /** Epoch ms at the worker. */
  at: number;
  uploadId?: string;
  /** `part`: parts 1..part are done; `stopped`: the parts done when it stopped. */
  part?: number;
  etag?: string;
  /** `done`: bytes written (0 when the destination already had the object). */
  bytes?: number;
  error?: string;
  /** The worker's queued plus in-flight bytes when it sent this (its load score). */
  load?: number;
}

const schema = strictObject(
  {
    jobId: resourceId(),
    taskId: resourceId(),
    attempt: integer(1, 1_000_000),
    worker: integer(0, 255),
    type: z.enum(STATUS_TYPES),
    at: z.number(),
    uploadId: z.string().min(1).max(1024).optional(),
    part: integer(0, 10_000).optional(),
    etag: z.string().max(256).optional(),
    bytes: z.number().int().min(0).optional(),
    error: z.string().max(2000).optional(),
    load: z.number().min(0).optional(),
  },
  'a status field',
);

/** @throws InvalidParameterError naming the field of the message. */
export function parseStatus(body: string): TaskStatus {
  return parseJsonWith(schema, body, { name: 'status' });
}

/** How the queue delivered a message: its receive count (SQS `ApproximateReceiveCount`). */
export interface Delivery {
  received: number;
}

/** Whether a run before this one may have begun on the same message (and died midway). */
export function redelivered(delivery: Delivery | undefined): boolean {
  return delivery !== undefined && delivery.received > 1;
}

/** What a worker's queue carries: which task, and which attempt of it. */
export interface TaskMessage {
  jobId: string;
  taskId: string;
  attempt: number;
  /**
   * Receives of this message before a worker sent it again as a new one at its deadline (a new
   * message's receive count starts over): counted with the new one's, so a message that ran
   * before is still known for a redelivery.
   */
  received?: number;
}

const messageSchema = strictObject(
  {
    jobId: resourceId(),
    taskId: resourceId(),
    attempt: integer(1, 1_000_000),
    received: integer(1, 1_000_000).optional(),
  },
  'a task message field',
);

/** @throws InvalidParameterError naming the field of the message. */
export function parseTaskMessage(body: string): TaskMessage {
  return parseJsonWith(messageSchema, body, { name: 'task' });
}

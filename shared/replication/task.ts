/**
 * A task of a replication job: copy one object, or delete one from the destination. It names
 * the worker that reads the source (`sourceWorker`) and the one that finishes the write into
 * the destination (`destinationWorker`): the same worker, unless the copy was migrated between
 * them at a part boundary (migration.ts). Its record in the status log is the only truth a
 * restart reads.
 */
import { createHash } from 'node:crypto';

export const TASK_KINDS = ['copy', 'delete'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/**
 * `pending`: planned, never sent; `queued`: sent to a worker; `running`: the worker started;
 * `stopping`: asked to stop (migration); `stopped`: stopped after its last checkpoint,
 * its remainder waiting for the next worker; `done`; `failed`: the last attempt failed (the
 * controller retries up to MAX_ATTEMPTS).
 */
export const TASK_STATES = [
  'pending',
  'queued',
  'running',
  'stopping',
  'stopped',
  'done',
  'failed',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** Times a task is sent before it stays failed (restarts send it again regardless). */
export const MAX_ATTEMPTS = 3;

export interface ReplicationTask {
  jobId: string;
  id: string;
  kind: TaskKind;
  /** The source key (copy) or the destination key (delete). */
  key: string;
  destinationKey: string;
  size: number;
  /** The source's modification time (epoch ms), to tell later whether the destination has it. */
  modifiedAt: number;
  sha256?: string;
  /**
   * The source's revision, when it is a vault: the copy reads that revision only
   * (source-version.ts). A bucket's version is its size and modification time.
   */
  revision?: string;
  sourceWorker?: number;
  destinationWorker?: number;
  state: TaskState;
  /** Times sent to a worker. */
  attempts: number;
  /** The job's restart round it was last sent in. */
  round: number;
  /** Parts copied, 1..partsDone (multi-part copies only). */
  partsDone: number;
  /** The destination's multi-part upload the parts belong to. */
  uploadId?: string;
  /** Each done part's ETag, by part number (what completing an S3 multi-part upload names). */
  etags: Record<string, string>;
  bytesCopied: number;
  /** Migration: the worker the rest of the copy goes to once the current one has stopped. */
  migrateTo?: number;
  /** When its last stop was asked (a migration), as the asker's clock read it. */
  stopAskedAt?: string;
  error?: string;
  /**
   * When its highest checkpoint was made, at its worker (the `part` status that raised
   * `partsDone`, or the stop that carried it): the worker's own time, so the gap between two
   * checkpoints is a part's copy time however the statuses travelled.
   */
  checkpointAt?: string;
  /** When its last attempt started, at its worker (its `started` status). */
  startedAt?: string;
  finishedAt?: string;
}

/** A task's id: the same kind and key give the same id, so planning twice writes one task. */
export function taskId(kind: TaskKind, key: string): string {
  return `t${createHash('sha256').update(`${kind}\0${key}`).digest('hex').slice(0, 24)}`;
}

/** The most parts of one object, as S3's multipart uploads and the staged uploads take them. */
export const MAX_COPY_PARTS = 10_000;
const MiB = 1024 * 1024;

/**
 * The part size a copy of `size` bytes goes in: the job's, or, for an object that would take
 * more than MAX_COPY_PARTS of them (past 78 GiB at 8 MiB), the least whole MiB that fits it in
 * that many. A function of the two alone, so every reader of a task agrees on it.
 */
export function partSizeFor(partSize: number, size: number): number {
  const least = Math.ceil(size / MAX_COPY_PARTS);
  return least <= partSize ? partSize : Math.ceil(least / MiB) * MiB;
}

/** Parts of an object of `size` bytes copied in parts of the job's `partSize` (partSizeFor); 0 when it goes in one piece. */
export function partCount(size: number, partSize: number): number {
  const part = partSizeFor(partSize, size);
  return size > part ? Math.ceil(size / part) : 0;
}

/** Bytes of parts 1..partsDone of an object of `size` bytes, the job's parts being `partSize`. */
export function bytesOfParts(partsDone: number, partSize: number, size: number): number {
  return Math.min(partsDone * partSizeFor(partSize, size), size);
}

/** Not done, and not failed for good. */
export function unfinished(task: ReplicationTask): boolean {
  return task.state !== 'done' && !(task.state === 'failed' && task.attempts >= MAX_ATTEMPTS);
}

/** A task as `GET /replications/{id}/tasks` shows it. */
export function publicTask(task: ReplicationTask, partSize: number) {
  const parts = task.kind === 'copy' ? partCount(task.size, partSize) : 0;
  return {
    id: task.id,
    kind: task.kind,
    key: task.key,
    size: task.size,
    sourceWorker: task.sourceWorker ?? null,
    destinationWorker: task.destinationWorker ?? null,
    state: task.state,
    attempts: task.attempts,
    ...(parts > 0 ? { partsDone: task.partsDone, parts } : {}),
    ...(task.error ? { error: task.error } : {}),
  };
}

/** Where a task's work sits now: the worker its last dispatch went to, if any. */
export function holderOf(task: ReplicationTask): number | undefined {
  return task.destinationWorker ?? task.sourceWorker;
}

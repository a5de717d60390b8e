/** The ports of the replication system; `shared/aws/replication/` implements them. */

import type { ReplicationJob } from './job.ts';
import type { ReplicationRule } from './rule.ts';
import type { Side } from './side.ts';
import type { SourceVersion } from './source-version.ts';
import type { TaskMessage, TaskStatus } from './status.ts';
import type { ReplicationTask, TaskState } from './task.ts';

/** One object of a listing or a head. */
export interface ObjectEntry {
  key: string;
  size: number;
  /** Epoch ms: committed (vault) or last modified (bucket). */
  modifiedAt: number;
  /** Known on vaults. */
  sha256?: string;
  /** Known on vaults: the revision the key names. */
  revision?: string;
  /**
   * Known on buckets a copy wrote: the source revision it copied (`put` and `startParts` were
   * told it), so a standing job can tell an older copy from the current one.
   */
  sourceRevision?: string;
}

/** What a write carries of the version it copies (an end that can keep it does). */
export interface CopiedVersion {
  revision?: string;
}

/** One end of a replication: listed, read by range, written whole or in parts. */
export interface ObjectSide {
  /** Objects under `prefix`, in key order (byte order of the UTF-8 keys). */
  list(prefix: string): AsyncIterable<ObjectEntry>;
  head(key: string): Promise<ObjectEntry | undefined>;
  /**
   * Bytes `start` up to (not including) `end`, streamed; with `expect`, of that version only.
   * @throws SourceChangedError when the object is another version than `expect`
   */
  read(key: string, start: number, end: number, expect?: SourceVersion): AsyncIterable<Uint8Array>;
  /** Writes a whole object of `size` bytes from a stream. */
  put(
    key: string,
    size: number,
    body: AsyncIterable<Uint8Array>,
    copied?: CopiedVersion,
  ): Promise<void>;
  /** Opens a multi-part write; returns its upload id. */
  startParts(key: string, copied?: CopiedVersion): Promise<string>;
  /**
   * Writes part `part` (1-based; writing it again replaces it); returns its ETag. `signal`
   * abandons the write (a copy asked to move); an end that cannot abort lets it land.
   */
  putPart(
    key: string,
    uploadId: string,
    part: number,
    body: Uint8Array,
    signal?: AbortSignal,
  ): Promise<string>;
  /**
   * Assembles parts 1..N, whose ETags are `etags` in order; the object is then whole. This and
   * `putPart` throw UploadGoneError when the destination no longer has the upload.
   */
  finishParts(key: string, uploadId: string, etags: string[]): Promise<void>;
  /** Abandons a multi-part write, its parts with it; one already ended or gone is no error. */
  abortParts(key: string, uploadId: string): Promise<void>;
  remove(key: string): Promise<void>;
}

/** Opens a side of a request. */
export type SideOpener = (side: Side) => ObjectSide;

/** A page of a job's tasks. */
export interface TaskPage {
  tasks: ReplicationTask[];
  cursor?: string;
}

/**
 * The persistent key-value log (DynamoDB): jobs, their tasks, and every status applied to
 * them. Every write is idempotent.
 */
export interface ReplicationLog {
  createJob(job: ReplicationJob): Promise<void>;
  getJob(id: string): Promise<ReplicationJob | undefined>;
  /** Applies `fields` when the job is in one of `from` (any state when left out). */
  updateJob(
    id: string,
    fields: Partial<ReplicationJob>,
    from?: ReplicationJob['state'][],
  ): Promise<boolean>;
  /** Adds one to the job's `migrations` (a count for the API to show). */
  countJob(id: string, field: 'migrations'): Promise<ReplicationJob | undefined>;
  /**
   * A restart: opens round `from + 1` (and counts the restart) if the job is still at round
   * `from`. Idempotent: a job already past `from` (this call made again after its answer was
   * lost, or another restart of the same round) is answered as it is, its round opened once.
   * Undefined when there is no such job.
   */
  openRound(id: string, from: number): Promise<ReplicationJob | undefined>;
  /** Newest first. */
  listJobs(limit: number, cursor?: string): Promise<{ jobs: ReplicationJob[]; cursor?: string }>;
  /**
   * Writes the tasks that do not exist yet; an existing task (same id) is left as it is. With
   * `overwrite`, for a caller that knows no task of them can have been sent (a job's first plan,
   * before any dispatch), they are written as they are, in batches: a few requests, not one each.
   */
  putTasks(tasks: ReplicationTask[], opts?: { overwrite: boolean }): Promise<void>;
  getTask(jobId: string, taskId: string): Promise<ReplicationTask | undefined>;
  tasks(jobId: string, limit: number, cursor?: string): Promise<TaskPage>;
  /**
   * The job's tasks not done (any other state), in the same order, from a sparse index: a
   * task leaves it when it is done, and a done task never comes back. Eventually consistent,
   * as an index is read: a task just done may still show, and one just written may not yet.
   */
  openTasks(jobId: string, limit: number, cursor?: string): Promise<TaskPage>;
  /**
   * Marks the task sent to `worker` as attempt `attempt` of round `round`, unless it is done or
   * another dispatch got there first (its attempts are no longer `attempt - 1`).
   */
  markDispatched(
    task: Pick<ReplicationTask, 'jobId' | 'id' | 'attempts'>,
    fields: {
      attempt: number;
      round: number;
      worker: number;
      keepSource: boolean;
      /** A rebalancing move: only while still queued, no worker having claimed it. */
      onlyQueued?: boolean;
    },
  ): Promise<boolean>;
  /**
   * A worker's claim on the attempt it was sent, before it writes anything: the task runs (with
   * when it started, at the worker, and the upload it resumes, if any), unless it was moved
   * (its attempts raised), finished, or asked to stop meanwhile. A redelivery of the same
   * attempt claims it again. The one log write a worker makes itself: a rebalancing move and
   * the claim are conditional on each other, so exactly one of them wins and one worker copies.
   * @returns the task as claimed, or undefined when the claim lost.
   */
  claimTask(
    jobId: string,
    taskId: string,
    claim: { attempt: number; at: number; uploadId?: string },
  ): Promise<ReplicationTask | undefined>;
  /**
   * Asks the task's worker to stop (within a look, leaving the part in flight), the rest going
   * to `to`; `at`
   * (epoch ms) is kept as the task's `stopAskedAt`, where a migration's pause starts.
   */
  requestStop(jobId: string, taskId: string, to: number, at: number): Promise<boolean>;
  /** A vault's continuous rule. */
  getRule(vault: string): Promise<ReplicationRule | undefined>;
  putRule(rule: ReplicationRule): Promise<void>;
  removeRule(vault: string): Promise<void>;
  /** Applies one status, idempotently and in any order. */
  applyStatus(status: TaskStatus, partSize: number): Promise<StatusApplied>;
  /**
   * Forgets the multi-part upload `uploadId` of the task at `attempt` (the destination no longer
   * has it: UploadGoneError), with its parts' ETags and count, so its copy begins again with a
   * new one. @returns false when the task moved on (another attempt, another upload).
   */
  restartUpload(jobId: string, taskId: string, attempt: number, uploadId: string): Promise<boolean>;
}

/** What applying a status did. */
export interface StatusApplied {
  /** Whether it changed the log. */
  changed: boolean;
  /**
   * For a `stopped` that stopped the task: the task as that write left it, so the remainder
   * leaves without another read (migration.ts).
   */
  stopped?: ReplicationTask;
}

/** Each worker's own queue. */
export interface WorkerQueues {
  readonly count: number;
  /** `delaySeconds` (0..900, SQS's range) holds the messages back that long before delivery. */
  send(worker: number, messages: TaskMessage[], delaySeconds?: number): Promise<void>;
}

/** The one queue every status goes through into the log. */
export interface StatusQueue {
  send(status: TaskStatus): Promise<void>;
}

/** The status queue, for a sender that has several statuses at once (worker-batch.ts). */
export interface StatusBatches extends StatusQueue {
  /** Sends every status, as few requests as the queue allows; throws unless all were taken. */
  sendAll(statuses: TaskStatus[]): Promise<void>;
}

/** A worker's own queue, as its consumer sees it. */
export interface WorkerInbox {
  /**
   * Sends these message bodies to the queue again as new messages (not begun here): unlike the
   * same messages made visible again, they start with no receives counted toward the
   * dead-letter queue. Throws unless all were taken.
   */
  requeue(bodies: string[]): Promise<void>;
  /** Makes the messages received with these receipts visible again at once (not begun here). */
  handBack(receipts: string[]): Promise<void>;
}

/** The controller's executions (a Step Functions state machine). */
export interface Controller {
  /** Starts an execution for the job; returns its ARN. */
  start(jobId: string, name: string): Promise<string>;
  /** Redrives the execution when it failed or was cut short; false when it cannot be. */
  redrive(executionArn: string): Promise<boolean>;
  /** Whether the execution is still running. */
  running(executionArn: string): Promise<boolean>;
  stop(executionArn: string): Promise<void>;
}

/**
 * Where tests make a process die (DSN_REPLICATION_CRASH_AT); a no-op when unset. `first`, run
 * only when the hook is armed at that point, is what the point waits for before the process dies.
 */
export type CrashHook = (
  point: CrashPoint,
  detail: string,
  first?: () => Promise<void>,
) => Promise<void>;

/**
 * Where tests make a worker slow (DSN_REPLICATION_SLOW_TASK_MS): run once a task is claimed,
 * before any byte of it moves, as a host with a poor link is slow at each copy it makes. The
 * stale deliveries it drops cost it nothing more. A no-op when unset.
 */
export type SlowTaskHook = () => Promise<void>;

export const CRASH_POINTS = ['after-plan', 'mid-dispatch', 'mid-parts', 'after-copy'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export type { TaskState };

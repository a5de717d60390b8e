/**
 * A replication worker: claims the attempt of one task in the log (a conditional write, so a
 * rebalancing move and the worker's start cannot both win), copies (or deletes) its object, and
 * reports each step through the status queue. Objects above the job's part size are copied in parts, and after
 * each part the worker reports the parts done so far (a checkpoint). Asked to stop (migration),
 * it leaves the part in flight, seen within STOP_WATCH_MS; near its time limit it stops at the
 * next part boundary. Either way it reports where it stopped, so that the next worker resumes
 * the same upload after the last checkpoint.
 */
import type { Clock } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import { heldReads } from '../held-reads.ts';
import type { Logger } from '../log.ts';
import { collect } from './collect.ts';
import type {
  CopiedVersion,
  CrashHook,
  ObjectSide,
  ReplicationLog,
  SideOpener,
  SlowTaskHook,
  StatusQueue,
} from './ports.ts';
import { sameObject } from './same-object.ts';
import { sourceKey } from './side.ts';
import { SourceChangedError, type SourceVersion } from './source-version.ts';
import { settleStanding } from './standing-settle.ts';
import type { Delivery, TaskMessage, TaskStatus } from './status.ts';
import { partCount, partSizeFor, type ReplicationTask } from './task.ts';
import { UploadGoneError } from './upload-gone.ts';

export interface WorkerDeps {
  worker: number;
  /**
   * A worker writes to the log through the status queue, but for its claim on a task
   * (`claimTask`), which must win or lose against a rebalancing move at once.
   */
  log: Pick<ReplicationLog, 'getJob' | 'getTask' | 'claimTask' | 'restartUpload'>;
  sides: SideOpener;
  statuses: StatusQueue;
  clock: Clock;
  logger: Logger;
  crash: CrashHook;
  /** Fault injection for tests; none when absent. */
  slowTask?: SlowTaskHook;
  /** Milliseconds left before the function's time limit. */
  remainingMs: () => number;
  /** Below this many milliseconds left, the worker stops at the part boundary and asks to be migrated. */
  deadlineMarginMs: number;
}

export type TaskOutcome = 'done' | 'skipped' | 'stale' | 'stopped' | 'failed';

/**
 * How long a worker holds a job it read as running: the tasks of a burst share one read of it.
 * A job cancelled meanwhile may still see a task it had sent start that long after; one found
 * not running (cancelled, failed, or restarted since) is never held.
 */
export const RUNNING_JOB_HOLD_MS = 2000;

/** The log's job read, held for RUNNING_JOB_HOLD_MS while the job runs. */
export function heldJobReads(
  log: Pick<ReplicationLog, 'getJob'>,
  clock: Clock,
): ReplicationLog['getJob'] {
  const held = heldReads((id: string) => log.getJob(id), {
    now: () => clock.now(),
    ms: RUNNING_JOB_HOLD_MS,
    keep: (job) => job?.state === 'running',
  });
  return (id) => held(id);
}

/**
 * Runs the task a message names, unless the message is stale (a later attempt, a done task).
 * `delivery` tells a first delivery of a first attempt, which no earlier run can have copied.
 */
export async function runTask(
  deps: WorkerDeps,
  msg: TaskMessage,
  delivery?: Delivery,
): Promise<TaskOutcome> {
  // The job's read is held while it runs (heldJobReads), so this is mostly no round trip.
  const job = await deps.log.getJob(msg.jobId);
  if (job?.state !== 'running') return 'stale';
  // The claim is also the read of the task: one round trip before the copy, not two. A
  // rebalancing move and the claim are conditional on each other, so a task moved meanwhile is
  // left to the worker it moved to, and one claimed here is not moved. Only a lost claim reads
  // the task, to tell a stale message from a copy asked to move before it started here.
  const claimed = await deps.log.claimTask(msg.jobId, msg.taskId, {
    attempt: msg.attempt,
    at: deps.clock.now(),
  });
  const task = claimed ?? (await deps.log.getTask(msg.jobId, msg.taskId));
  if (!task || task.state === 'done' || task.attempts !== msg.attempt) return 'stale';
  if (!claimed && task.state !== 'stopping') return 'stale';
  await deps.slowTask?.();
  /** A standing job's look at both ends before it says done (standing-settle.ts). */
  let settle: (() => Promise<number>) | undefined;
  const send = (type: TaskStatus['type'], fields: Partial<TaskStatus> = {}) =>
    deps.statuses.send({
      jobId: msg.jobId,
      taskId: msg.taskId,
      attempt: msg.attempt,
      worker: deps.worker,
      type,
      at: deps.clock.now(),
      ...fields,
    });
  const report = async (type: TaskStatus['type'], fields: Partial<TaskStatus> = {}) => {
    if (type === 'done' && settle) {
      const fixes = await settle();
      if (fixes > 0)
        deps.logger.info('replication task brought its key up to date', {
          jobId: msg.jobId,
          taskId: msg.taskId,
          writes: fixes,
        });
    }
    return send(type, fields);
  };
  try {
    const source = deps.sides(job.source);
    const destination = deps.sides(job.destination);
    if (job.continuous)
      settle = () =>
        settleStanding({
          source,
          destination,
          sourceKey:
            task.kind === 'delete'
              ? sourceKey(job.source, job.destination, task.destinationKey)
              : task.key,
          destinationKey: task.destinationKey,
          partSize: job.partSize,
          hasTime: () => deps.remainingMs() >= deps.deadlineMarginMs,
        });
    if (task.kind === 'delete') {
      // The key came back to the source since (a later write, whose copy may be there already):
      // a delete that arrives late, or is retried, must not remove it. A delete task names
      // the destination's key.
      if (await source.head(sourceKey(job.source, job.destination, task.destinationKey))) {
        await report('done', { bytes: 0 });
        return 'skipped';
      }
      await destination.remove(task.destinationKey);
      await report('done', { bytes: 0 });
      return 'done';
    }
    // An earlier attempt, or an earlier delivery of this one (SQS delivers at least once, and
    // again after a crash), may have finished its write and died before its status was logged:
    // one HEAD of the destination, against what the plan saw of the source, tells. The first
    // delivery of a first attempt follows no run of this task (a redelivery counts its
    // receives; a retry, a restart, a migration or a rebalancing move raise the attempt), so it
    // copies without looking; two copies at once of one delivery are no more likely than
    // before, since neither would find the other's copy finished.
    const first = msg.attempt === 1 && delivery?.received === 1 && task.uploadId === undefined;
    const planned = {
      key: task.key,
      size: task.size,
      modifiedAt: task.modifiedAt,
      ...(task.sha256 ? { sha256: task.sha256 } : {}),
    };
    // A later attempt (a retry, a restart, a migrated remainder) also looks at the source, in
    // the same round trip as the destination: a remainder's pause waits for it.
    const [found, stillThere] = await Promise.all([
      first ? undefined : destination.head(task.destinationKey),
      task.attempts > 1 ? source.head(task.key) : true,
    ]);
    if (sameObject(planned, found)) {
      await report('done', { bytes: 0 });
      return 'skipped';
    }
    if (!stillThere) {
      // Gone from the source since the plan: nothing left to copy.
      await report('done', { bytes: 0 });
      return 'skipped';
    }
    // Asked to move before it started here: nothing to finish first.
    if (task.state === 'stopping') {
      await report('stopped', {
        part: task.partsDone,
        ...(task.uploadId ? { uploadId: task.uploadId } : {}),
      });
      return 'stopped';
    }
    const parts = partCount(task.size, job.partSize);
    if (parts === 0) {
      await destination.put(
        task.destinationKey,
        task.size,
        source.read(task.key, 0, task.size, versionOf(task)),
        copiedOf(task),
      );
      await deps.crash('after-copy', task.key);
      await report('done', { bytes: task.size });
      return 'done';
    }
    return await copyParts(
      deps,
      { task, source, destination, partSize: partSizeFor(job.partSize, task.size), parts },
      report,
    );
  } catch (caught) {
    let err = caught;
    if (err instanceof SourceChangedError && job.continuous) {
      // A standing rule's task copies one commit: the later one has a task of its own, which
      // copies it (or has). Nothing of this one is wanted any more, but the look at both ends.
      deps.logger.info('replication task superseded: its source changed since', {
        jobId: msg.jobId,
        taskId: msg.taskId,
        reason: err.message,
      });
      try {
        await report('done', { bytes: 0 });
        return 'skipped';
      } catch (late) {
        err = late;
      }
    }
    // A one-off job's task fails, loudly: never a copy of another version reported done.
    deps.logger.error('replication task failed', err, { jobId: msg.jobId, taskId: msg.taskId });
    const { name, message } = describeError(err);
    await report('failed', { error: `${name}: ${message}`.slice(0, 2000) });
    return 'failed';
  }
}

/** What a copy writes of the version it copies: a standing job's revision. */
function copiedOf(task: ReplicationTask): CopiedVersion {
  return task.revision ? { revision: task.revision } : {};
}

/** The source version `task` was planned from: each of its reads is of that one only. */
function versionOf(task: ReplicationTask): SourceVersion {
  return {
    size: task.size,
    modifiedAt: task.modifiedAt,
    ...(task.revision ? { revision: task.revision } : {}),
  };
}

/**
 * While a part is read and written, how often the log is looked at for a stop. A copy asked to
 * move then leaves the part in flight rather than finishing it: the remainder's worker starts
 * within this and one look (plus the hops of the stop), not after the rest of a part. Only
 * multi-part copies look, one GetItem at a time, every 25 ms of a part's copy at most.
 */
export const STOP_WATCH_MS = 25;

/**
 * Runs `step` (one part's read and write), looking at the log every STOP_WATCH_MS meanwhile.
 * When the copy is asked to move first, the step's write is aborted (an end that cannot abort
 * lets it land: the same bytes the next worker writes). A step that ended while the look was
 * made keeps its part, and the stop is known without another look.
 * @returns the part's ETag unless it was left, and whether a stop was seen.
 */
async function unlessAsked(
  clock: Clock,
  look: () => Promise<ReplicationTask | undefined>,
  asked: (now: ReplicationTask | undefined) => boolean,
  step: (signal: AbortSignal) => Promise<string>,
): Promise<{ etag?: string; asked: boolean }> {
  const abort = new AbortController();
  const writing = step(abort.signal);
  let settled = false;
  const settle = () => {
    settled = true;
  };
  const ended = writing.then(settle, settle);
  while (!settled) {
    await Promise.race([clock.sleep(STOP_WATCH_MS), ended]);
    if (settled) break;
    if (asked(await look())) {
      if (settled) return { etag: await writing, asked: true };
      abort.abort();
      return { asked: true };
    }
  }
  return { etag: await writing, asked: false };
}

/** How long a crash test's worker waits for its checkpoint to reach the log. */
const CHECKPOINT_WAIT_MS = 10_000;

/** Waits (a read every STOP_WATCH_MS) until the log holds part `part` of `task` done. */
async function checkpointLogged(
  deps: Pick<WorkerDeps, 'log' | 'clock'>,
  task: ReplicationTask,
  part: number,
): Promise<void> {
  const until = deps.clock.now() + CHECKPOINT_WAIT_MS;
  while (deps.clock.now() < until) {
    const now = await deps.log.getTask(task.jobId, task.id);
    if ((now?.partsDone ?? 0) >= part) return;
    await deps.clock.sleep(STOP_WATCH_MS);
  }
  throw new Error(`part ${part} of ${task.key} did not reach the log in ${CHECKPOINT_WAIT_MS} ms`);
}

/** The ETags of the parts the log holds, 1..k with no gap: where a resumed upload goes on. */
function checkpointed(task: ReplicationTask): string[] {
  const etags: string[] = [];
  for (let p = 1; p <= task.partsDone && task.etags[String(p)] !== undefined; p++)
    etags.push(task.etags[String(p)] as string);
  return etags;
}

/** A copy in parts: the task, its two ends, and its part size and count (partSizeFor). */
interface PartsCopy {
  task: ReplicationTask;
  source: ObjectSide;
  destination: ObjectSide;
  partSize: number;
  parts: number;
}

async function copyParts(
  deps: WorkerDeps,
  c: PartsCopy,
  report: (type: TaskStatus['type'], fields?: Partial<TaskStatus>) => Promise<void>,
): Promise<TaskOutcome> {
  const { task } = c;
  if (task.uploadId === undefined) return copyPartsOnce(deps, c, report);
  const resumed = task.uploadId;
  try {
    return await copyPartsOnce(deps, c, report);
  } catch (err) {
    if (!(err instanceof UploadGoneError)) throw err;
    // The upload it resumed is gone at the destination: forgotten on the task (unless the task
    // moved on meanwhile), and the copy begins again with a new one.
    deps.logger.warn('replication copy begins again: its upload is gone', {
      jobId: task.jobId,
      taskId: task.id,
      error: err.message,
    });
    if (!(await deps.log.restartUpload(task.jobId, task.id, task.attempts, resumed))) throw err;
    const fresh = { ...task, uploadId: undefined, etags: {}, partsDone: 0, bytesCopied: 0 };
    return copyPartsOnce(deps, { ...c, task: fresh }, report);
  }
}

async function copyPartsOnce(
  deps: WorkerDeps,
  c: PartsCopy,
  report: (type: TaskStatus['type'], fields?: Partial<TaskStatus>) => Promise<void>,
): Promise<TaskOutcome> {
  const { task, partSize, parts } = c;
  let etags: string[] = [];
  let uploadId = task.uploadId;
  let first = 1;
  if (uploadId) {
    // Resume after the parts the log holds (claimed in runTask).
    etags = checkpointed(task);
    first = etags.length + 1;
  } else {
    // Claimed (in runTask) before the upload is opened, which may take a while: the controller
    // then sees the copy under way and leaves it where it is.
    uploadId = await c.destination.startParts(task.destinationKey, copiedOf(task));
  }
  // One part ahead: the next part is read from the source while this one is written, so a
  // large copy moves at the slower of the two ends, not at their sum. A read left behind by a
  // stop is closed, and dropped (its error, if any, with it).
  const reading = new AbortController();
  const readPart = (p: number) => {
    const start = (p - 1) * partSize;
    const end = Math.min(task.size, p * partSize);
    const bytes = collect(
      c.source.read(task.key, start, end, versionOf(task)),
      end - start,
      reading.signal,
    );
    bytes.catch(() => {});
    return bytes;
  };
  let next = readPart(first);
  // The last part's status, on its way while the next boundary's look at the log is made.
  let reported: Promise<void> = Promise.resolve();
  const look = () => deps.log.getTask(task.jobId, task.id);
  const asked = (now: ReplicationTask | undefined) =>
    now?.state === 'stopping' || now?.attempts !== task.attempts;
  try {
    for (let p = first; p <= parts; p++) {
      if (p > first) {
        const [, now] = await Promise.all([reported, look()]);
        if (asked(now) || deps.remainingMs() < deps.deadlineMarginMs) {
          // With the last part's ETag, so the next worker has every checkpoint it resumes after.
          await report('stopped', {
            uploadId,
            part: p - 1,
            etag: etags[p - 2],
            ...(asked(now) ? {} : { error: 'near the time limit' }),
          });
          return 'stopped';
        }
      }
      const step = await unlessAsked(deps.clock, look, asked, async (signal) => {
        const bytes = await next;
        signal.throwIfAborted();
        if (p < parts) next = readPart(p + 1);
        return c.destination.putPart(task.destinationKey, uploadId, p, bytes, signal);
      });
      const etag = step.etag;
      if (etag !== undefined) etags.push(etag);
      if (step.asked && (etag === undefined || p < parts)) {
        // Asked to move while this part was on its way. A part not landed yet is left to the next
        // worker, which writes it again (the same bytes), so the pause is not the rest of a part;
        // one that landed meanwhile goes with the stop, which carries the last part's ETag.
        await reported;
        const done = etags.length;
        await report('stopped', {
          uploadId,
          part: done,
          ...(done > 0 ? { etag: etags[done - 1] } : {}),
        });
        return 'stopped';
      }
      if (etag === undefined) throw new Error(`part ${p} of ${task.key} has no ETag`);
      reported = report('part', { uploadId, part: p, etag });
      // Awaited at the next boundary (or the end); a failure meanwhile is not unhandled.
      reported.catch(() => {});
      if (p === first && p < parts - 1) {
        await reported;
        // The crash test's point: once the log holds this checkpoint (its status may otherwise
        // be taken off the queue by the log's consumer just before the process dies, and come
        // back only after the queue's visibility timeout), so the test knows what is finished.
        await deps.crash('mid-parts', task.key, () => checkpointLogged(deps, task, p));
      }
    }
    await reported;
    await c.destination.finishParts(task.destinationKey, uploadId, etags);
    await deps.crash('after-copy', task.key);
    await report('done', { bytes: task.size, uploadId });
    return 'done';
  } finally {
    // Whatever the way out, no read of this copy goes on without it.
    reading.abort();
  }
}

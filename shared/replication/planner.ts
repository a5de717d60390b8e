/**
 * plan: lists the source and the destination side by side (both in key order, so the diff
 * streams and holds one page of each), and writes what differs into the log as tasks, in
 * batches: `copy` for an object the destination lacks or holds otherwise, `delete` for one the
 * source lacks when the job deletes extraneous objects. Planning again writes nothing new:
 * task ids come from kind and key. A job's first plan writes its tasks in batches, unconditioned
 * (none can be under way yet); any later one only where no task is.
 */
import type { ReplicationJob } from './job.ts';
import type { ObjectEntry, ReplicationLog, SideOpener } from './ports.ts';
import { sameObject } from './same-object.ts';
import { sourceKey } from './side.ts';
import { type ReplicationTask, taskId } from './task.ts';

/** Tasks written to the log at a time. */
export const PLAN_BATCH = 100;

export interface PlannerDeps {
  log: Pick<ReplicationLog, 'putTasks' | 'getJob'>;
  sides: SideOpener;
}

/**
 * Whether a plan of `job` may write its tasks as they are, in batches: its first round, never
 * restarted, so no dispatch can have sent any of them (dispatch follows the plan). A run of the
 * same plan before it (a redrive after a crash) wrote the same tasks, still unsent.
 */
function firstPlan(job: ReplicationJob): boolean {
  return job.round === 1 && job.restarts === 0;
}

/** Entries of `list` with keys moved from under `from` to under `to`, in order. */
async function* rebased(
  list: AsyncIterable<ObjectEntry>,
  from: string,
  to: string,
): AsyncGenerator<ObjectEntry> {
  for await (const e of list) yield { ...e, key: to + e.key.slice(from.length) };
}

function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function task(
  job: ReplicationJob,
  kind: ReplicationTask['kind'],
  key: string,
  dst: string,
  e: ObjectEntry,
): ReplicationTask {
  return {
    jobId: job.id,
    id: taskId(kind, key),
    kind,
    key,
    destinationKey: dst,
    size: kind === 'copy' ? e.size : 0,
    modifiedAt: e.modifiedAt,
    ...(e.sha256 ? { sha256: e.sha256 } : {}),
    ...(kind === 'copy' && e.revision ? { revision: e.revision } : {}),
    state: 'pending',
    attempts: 0,
    round: 0,
    partsDone: 0,
    etags: {},
    bytesCopied: 0,
  };
}

/** Writes the job's diff as tasks; returns how many it found. Idempotent. */
export async function planJob(deps: PlannerDeps, job: ReplicationJob): Promise<number> {
  const source = deps.sides(job.source);
  const destination = deps.sides(job.destination);
  // The source's keys as they will be named in the destination, so both lists sort alike.
  const src = rebased(source.list(job.source.prefix), job.source.prefix, job.destination.prefix)[
    Symbol.asyncIterator
  ]();
  const dst = destination.list(job.destination.prefix)[Symbol.asyncIterator]();
  let a = await src.next();
  let b = await dst.next();
  let batch: ReplicationTask[] = [];
  let found = 0;
  let overwrite = firstPlan(job);
  const flush = async () => {
    if (batch.length === 0) return;
    if (overwrite && found > 0) {
      // A plan cancelled meanwhile, and maybe restarted (whose dispatch may be sending these
      // tasks), writes the rest only where no task is.
      const now = await deps.log.getJob(job.id);
      overwrite = now?.state === 'running' && !now.planned && firstPlan(now);
    }
    await deps.log.putTasks(batch, { overwrite });
    found += batch.length;
    batch = [];
  };
  while (!a.done || !b.done) {
    const order = a.done ? 1 : b.done ? -1 : compareKeys(a.value.key, b.value.key);
    if (order < 0 && !a.done) {
      const e = a.value;
      const key = job.source.prefix + e.key.slice(job.destination.prefix.length);
      batch.push(task(job, 'copy', key, e.key, e));
      a = await src.next();
    } else if (order > 0 && !b.done) {
      if (job.deleteExtraneous) batch.push(task(job, 'delete', b.value.key, b.value.key, b.value));
      b = await dst.next();
    } else if (!a.done && !b.done) {
      const e = a.value;
      if (!sameObject(e, b.value)) {
        const key = sourceKey(job.source, job.destination, e.key);
        batch.push(task(job, 'copy', key, e.key, e));
      }
      a = await src.next();
      b = await dst.next();
    }
    if (batch.length >= PLAN_BATCH) await flush();
  }
  await flush();
  return found;
}

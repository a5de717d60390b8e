/**
 * The topology applier's jobs: they move a vault's committed data onto the topology that became
 * current, object by object, with the rebuilder's throttle and a checkpoint after each object.
 *
 * - Replace (and drain): each pillar not where the vault's layout puts it is moved to its unit
 *   (pillar-moves.ts), then a sweep empties the old unit.
 * - Re-stripe: each object is read and written again as a new revision under the new topology
 *   (If-Match its ETag, so a newer write is never overwritten); the commit makes the old
 *   revision garbage, whose slices the janitor drops after its grace, so readers of the old
 *   manifest still find them. Up to LANES objects are in flight per job, each streamed segment by
 *   segment.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import type { Logger } from '../log.ts';
import type { Throttle } from '../repair/index.ts';
import {
  compareKeys,
  type IndexEntry,
  type ObjectIndex,
  openEntry,
  type ReaderDeps,
  type SliceStore,
  SUPERSEDED_GRACE_MS,
  type WriterDeps,
  writeObject,
} from '../store/index.ts';
import { layoutOf, movePillars, type PillarMove, workOf } from './pillar-moves.ts';
import type { ManifestStore, TopologyJobStore, TopologyJobTrigger } from './ports.ts';
import { lateWriteUncovered, reopenJob, type TopologyJob } from './topology-job.ts';

export interface MoverDeps {
  index: ObjectIndex;
  slices: SliceStore;
  manifests: ManifestStore;
  jobs: TopologyJobStore;
  trigger: TopologyJobTrigger;
  /** Re-stripe reads with the reader and writes with an uncached writer. */
  reader: ReaderDeps;
  writer: WriterDeps;
  throttle: Throttle;
  clock: Clock;
  log: Logger;
  /** Called after each object moved (tests kill the process here: DSN_TOPOLOGY_CRASH_AT). */
  afterObject?: (done: number) => Promise<void>;
  /** Objects moved at once; LANES unless a test asks for more. */
  lanes?: number;
}

/** The index is read this many entries at a time. */
const PAGE = 100;
/** A lease outlives each checkpoint by this much: a crashed holder's job is taken over after it. */
const LEASE_MS = 30_000;
/**
 * While one object moves, the lease is renewed (a checkpoint) once this long has passed since
 * the last: a large object copied at the throttle's pace takes longer than a lease, and a lease
 * that ran out under it let a second holder take the job and work alongside.
 */
export const LEASE_RENEW_MS = LEASE_MS / 3;
/**
 * How often, in real time, an object in flight asks for that renewal when no byte comes (a
 * re-stripe's wait for its commit): the renewal itself goes by the clock (LEASE_RENEW_MS).
 */
const HEARTBEAT_MS = 5000;
/**
 * A pass that finds nothing ends the job only if it began this long after the switch: writes
 * under the old topology commit within SUPERSEDED_GRACE_MS of it or never (the commit fence,
 * store/superseded-write.ts), so the index holds each of them by then; one that reaches the
 * index later (a commit stalled past the fence's read, an index task redone) is noted on the job
 * (`lateWrites`), and a pass begun before the note does not end it.
 */
const SETTLE_MS = SUPERSEDED_GRACE_MS + 5000;
/** Steps that fail one after the other before the job is failed. */
const MAX_FAILED_STEPS = 5;
/** A re-stripe waits this long for each rewrite's commit. */
const COMMIT_WAIT_MS = 60_000;

/** Works on job `id` of `vault` until `deadline` (epoch ms). Safe to call twice at once. */
export async function runTopologyJobStep(
  deps: MoverDeps,
  vault: string,
  id: string,
  deadline: number,
): Promise<{ job?: TopologyJob; more: boolean }> {
  const holder = randomUUID();
  const now = () => deps.clock.now();
  if (!(await deps.jobs.lease(vault, id, holder, now() + LEASE_MS, now()))) return { more: false };
  const job = await deps.jobs.get(vault);
  // Done before a late write was noted: one more pass, while the vault is still on its topology
  // (a newer topology's job moves everything not on it, late writes included).
  if (
    job?.id === id &&
    job.state === 'done' &&
    lateWriteUncovered(job) &&
    (await deps.writer.vaults.get(vault, { fresh: true })).topology === id
  ) {
    reopenJob(job, now(), job.lateWrites ?? 0);
    deps.log.info('topology job reopened for a late write', { vault, job: id });
  }
  if (!job || job.id !== id || job.state !== 'running') return { more: false };
  job.invocations++;
  const save = async (release = false) => {
    job.updatedAt = new Date(now()).toISOString();
    if (!(await deps.jobs.save(job, holder, release ? 'release' : now() + LEASE_MS)))
      throw new LeaseLost();
  };
  try {
    while (now() < deadline && job.state === 'running') {
      if (job.phase === 'count') await count(deps, job, save, deadline);
      else if (job.phase === 'move') await movePage(deps, job, save, deadline);
      else if (job.phase === 'sweep') await sweep(deps, job, save);
      else {
        job.state = 'done';
        job.finishedAt = new Date(now()).toISOString();
      }
    }
    job.failedSteps = 0;
    await save(true);
    return { job, more: job.state === 'running' };
  } catch (err) {
    // Lost mid-object too (a rewrite's source stops with it, as its cause if wrapped).
    if (err instanceof LeaseLost || (err as Error | undefined)?.cause instanceof LeaseLost)
      return { more: false };
    deps.log.error('topology job step failed', err, { vault, job: id, phase: job.phase });
    // The checkpoint stays; the message comes back and the next invocation resumes from it,
    // unless steps keep failing: then the job is failed, with why, for an operator to see.
    job.failedSteps = (job.failedSteps ?? 0) + 1;
    job.error = `${(err as Error).name}: ${(err as Error).message}`;
    if (job.failedSteps >= MAX_FAILED_STEPS) job.state = 'failed';
    await save(true).catch((saveErr: unknown) =>
      deps.log.warn('topology job checkpoint not saved', {
        job: id,
        error: describeError(saveErr),
      }),
    );
    if (job.state === 'failed') return { job, more: false };
    throw err;
  }
}

class LeaseLost extends Error {
  override name = 'LeaseLostError';
}

async function count(
  deps: MoverDeps,
  job: TopologyJob,
  save: () => Promise<void>,
  deadline: number,
) {
  let page = job.countCursor?.page;
  let total = job.countCursor?.total ?? 0;
  const layout = await layoutOf(deps, job);
  do {
    const got = await deps.index.list(job.vault, '', PAGE, page);
    for (const e of got.entries) if (workOf(job, e, layout)) total += e.segments;
    page = got.cursor;
    if (page) {
      // Checkpointed page by page, which renews the lease: a vault of a million objects takes
      // longer to count than a lease, and a count begun again by each next holder never ended.
      job.countCursor = { page, total };
      await save();
      if (deps.clock.now() >= deadline) return;
    }
  } while (page);
  delete job.countCursor;
  job.segmentsTotal = total;
  job.phase = 'move';
  job.passes = 1;
  job.passStartedAt = deps.clock.now();
  job.seenLateWrites = await lateWritesOf(deps, job);
  job.passMoved = 0;
  await save();
}

/**
 * Objects a job moves at once. Each lane holds one object's worth of space in flight (a
 * re-stripe streams its object segment by segment), so the bound is LANES objects per worker.
 * A job is background work: it yields to the reads and writes users wait on. bench:topology
 * (256 MiB, 4-of-6 to 6-of-9, idle 2-core machine, the topology function at a lower CPU
 * priority) re-striped at 1.5x a GET+PUT loop with 2 lanes and 1.2-1.3x with 1, while the p99
 * of foreground reads during the job was 2.3x of before with 2 lanes and 1.7-1.9x with 1; at
 * 32 MiB (8 objects) one lane re-striped at 0.84x, two at 1.21x, since each commit's round
 * trips then weigh more.
 */
export const LANES = 1;

/**
 * One index page of the current pass, up to LANES objects at once. The checkpoint's key is the
 * last one before which every object of the page is done, so a crash resends only objects at or
 * after it; those already moved are skipped then (each step checks the entry's topology or units).
 */
async function movePage(
  deps: MoverDeps,
  job: TopologyJob,
  save: () => Promise<void>,
  deadline: number,
) {
  const at = job.cursor ?? {};
  const layout = await layoutOf(deps, job);
  const got = await deps.index.list(job.vault, '', PAGE, at.page);
  // By UTF-8 bytes, as the index sorts: a page resumed past a key takes every key after it.
  const entries = got.entries.filter(
    (e) => at.after === undefined || compareKeys(e.key, at.after) > 0,
  );
  // Done flags in page order: the checkpoint moves past the longest finished prefix.
  const finished = entries.map(() => false);
  let prefix = 0;
  let next = 0;
  let inFlight = 0;
  let busySince = 0;
  let failure: unknown;
  // Checkpoints go one at a time, in order: the job record is written under a lease.
  let saving = Promise.resolve();
  let savedAt = deps.clock.now();
  const checkpoint = () => {
    saving = saving.then(async () => {
      await save();
      savedAt = deps.clock.now();
    });
    return saving;
  };
  // Called as an object's bytes go: renews the lease when due; throws LeaseLost once it is gone,
  // which stops the object there (what it placed, the next holder places again).
  const keepLease = async () => {
    if (deps.clock.now() - savedAt >= LEASE_RENEW_MS) await checkpoint();
  };
  const lane = async () => {
    while (failure === undefined && next < entries.length && deps.clock.now() < deadline) {
      const i = next++;
      const entry = entries[i] as IndexEntry;
      const work = workOf(job, entry, layout);
      if (work) {
        if (inFlight++ === 0) busySince = deps.clock.now();
        // Between its bytes too (a re-stripe's wait for its commit, a slow unit's answer) the
        // lease is renewed while the object is in flight; one lost stops the lanes after it.
        const beat = setInterval(() => {
          keepLease().catch((err: unknown) => {
            failure ??= err;
          });
        }, HEARTBEAT_MS);
        beat.unref?.();
        try {
          if (work === 'rewrite') await rewrite(deps, job, entry, keepLease);
          else {
            // Saved before any copy leaves them: the sweep must know of them whatever happens
            // (awaited by every lane that moves off one, not only the one that recorded it).
            if (recordStrays(job, work)) await checkpoint();
            else if (work.some((m) => m.from !== job.move?.from)) await saving;
            job.bytesMoved += await movePillars(deps, entry, work, keepLease);
          }
        } finally {
          clearInterval(beat);
          if (--inFlight === 0) job.moveMs += deps.clock.now() - busySince;
        }
        job.objectsDone++;
        job.passMoved++;
        job.segmentsDone += entry.segments;
      }
      finished[i] = true;
      while (prefix < entries.length && finished[prefix]) prefix++;
      if (prefix > 0) {
        job.cursor = {
          ...(at.page ? { page: at.page } : {}),
          after: (entries[prefix - 1] as IndexEntry).key,
        };
      }
      const done = job.objectsDone;
      await checkpoint();
      if (work) await deps.afterObject?.(done);
    }
  };
  // Every lane ends before the step does (a failed one stops the others at their next object).
  await Promise.all(
    Array.from({ length: deps.lanes ?? LANES }, () =>
      lane().catch((err: unknown) => {
        failure ??= err;
      }),
    ),
  );
  if (failure !== undefined) throw failure;
  if (prefix < entries.length) return;
  if (got.cursor) {
    job.cursor = { page: got.cursor };
    await save();
    return;
  }
  // End of a pass: done only once a pass that began after the settle time, with no late write
  // counted since it began (read afresh: the count is not the holder's), found nothing.
  job.lateWrites = await lateWritesOf(deps, job);
  const settled = job.passStartedAt >= job.since + SETTLE_MS && !lateWriteUncovered(job);
  if (job.passMoved === 0 && settled) {
    job.phase = job.kind === 'replace' ? 'sweep' : 'done';
  } else {
    if (job.passMoved === 0) {
      const wait = Math.min(1000, job.since + SETTLE_MS - deps.clock.now());
      if (wait > 0) await deps.clock.sleep(wait);
    }
    job.passes++;
    job.passMoved = 0;
    job.passStartedAt = deps.clock.now();
    // Read before the next pass lists anything.
    job.seenLateWrites = job.lateWrites;
  }
  delete job.cursor;
  await save();
}

/** The late writes counted on `job` now. */
async function lateWritesOf(deps: Pick<MoverDeps, 'jobs'>, job: TopologyJob): Promise<number> {
  const now = await deps.jobs.get(job.vault);
  return now?.id === job.id ? (now.lateWrites ?? 0) : (job.lateWrites ?? 0);
}

/**
 * Re-encodes one object: read it, write it again under the new topology, wait for the commit.
 * `keepLease` is called with each chunk read (see movePillars).
 */
async function rewrite(
  deps: MoverDeps,
  job: TopologyJob,
  entry: IndexEntry,
  keepLease: () => Promise<void>,
) {
  const { body } = openEntry(deps.reader, entry);
  const throttled = async function* () {
    for await (const chunk of body) {
      await deps.throttle.take(chunk.length);
      await keepLease();
      yield chunk;
    }
  };
  const outcome = await writeObject(deps.writer, job.vault, entry.key, throttled(), {
    waitMs: COMMIT_WAIT_MS,
    precondition: { ifMatch: entry.sha256 },
    ...(entry.attributes ? { attributes: entry.attributes } : {}),
    ...(entry.writer === undefined ? {} : { writer: entry.writer }),
  }).catch((err: unknown) => {
    // A newer write (or a delete) won meanwhile: nothing of this revision to re-encode.
    if ((err as Error).name === 'PreconditionFailedError') return undefined;
    throw err;
  });
  if (outcome === undefined || outcome.state === 'refused') return;
  if (outcome.state !== 'committed')
    throw new Error(`re-encoding ${entry.key} ended ${outcome.state}; the job retries it`);
  job.bytesMoved += entry.size;
}

/** Adds to `job.strays` the units `moves` take pillars off besides its own. @returns whether any was new. */
function recordStrays(job: TopologyJob, moves: PillarMove[]): boolean {
  const own = job.move?.from;
  const strays = new Set(job.strays);
  const before = strays.size;
  for (const { from } of moves) if (from !== own) strays.add(from);
  if (strays.size === before) return false;
  job.strays = [...strays].sort((a, b) => a - b);
  return true;
}

/**
 * After a replace: every slice of the vault still on the old unit (garbage, failed) goes, and on
 * each earlier replaced unit it moved pillars off (`strays`), unless the vault's units include
 * it again. A unit that cannot be listed (a lost bucket) is left as it is: nothing readable
 * remains there.
 */
async function sweep(deps: MoverDeps, job: TopologyJob, save: () => Promise<void>) {
  const { from } = job.move as { from: number; to: number };
  // A unit the vault has come to use again (a newer topology) keeps what it holds.
  const { units } = await deps.writer.vaults.get(job.vault, { fresh: true });
  const swept = [...new Set([from, ...(job.strays ?? [])])].filter((u) => !units.includes(u));
  for (const unit of swept) {
    try {
      let batch: string[] = [];
      for await (const s of deps.slices.list(unit, `${job.vault}/`)) {
        batch.push(s.key);
        if (batch.length === 1000) {
          await deps.slices.delete(unit, batch);
          batch = [];
        }
      }
      if (batch.length > 0) await deps.slices.delete(unit, batch);
    } catch (err) {
      deps.log.warn('topology job: the old unit was not swept', {
        unit,
        vault: job.vault,
        error: describeError(err),
      });
    }
  }
  job.phase = 'done';
  await save();
}

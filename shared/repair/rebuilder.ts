/**
 * The rebuilder: heals a vault. Each invocation works on the vault's job (shared/rebuild-job.ts)
 * under a lease until its deadline, checkpointing after every segment, so a rebuild cut off by
 * the Lambda time limit (or by `stepSegments`) carries on where it stopped and redoes nothing.
 *
 * - Damage that reads met waits in the repair queue; it is repaired first.
 * - The scan checks every slice of every committed segment. A segment with at least k good
 *   slices gets its missing and corrupt slices regenerated and written back; one with fewer is
 *   lost, and is reported by key, loudly, never silently.
 * - The orphan sweep (orphan-sweep.ts) deletes slices of revisions the ledger no longer knows.
 *
 * Writing a slice back is idempotent: the encoding is deterministic, so a regenerated slice is
 * byte for byte the one the writer made, and a second rebuild racing the first writes the same
 * bytes.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { codecFor, encodeSlice, parseSliceName, s3Crc32 } from '../codec/index.ts';
import { describeError } from '../describe-error.ts';
import { RebuildRestartTooSoonError } from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  compareKeys,
  type EventBus,
  type IndexEntry,
  type Ledger,
  lostEvent,
  type ObjectIndex,
  repairedEvent,
  type SliceStore,
  type VaultStore,
} from '../store/index.ts';
import { sweepOrphans } from './orphan-sweep.ts';
import type { RebuildJobStore, RebuildTrigger, RepairInbox } from './ports.ts';
import { newRebuildJob, type RebuildJob, type RebuildRequest, roomForLost } from './rebuild-job.ts';
import { inspectSegment } from './segment-health.ts';
import type { Throttle } from './throttle.ts';

export interface RebuilderDeps {
  index: ObjectIndex;
  slices: SliceStore;
  ledger: Ledger;
  vaults: VaultStore;
  inbox: RepairInbox;
  jobs: RebuildJobStore;
  /** Queues the next step of an unfinished job. */
  trigger: RebuildTrigger;
  /** Lost and healed objects are also announced here, as `object.lost` and `object.repaired` (at least once per rebuild). */
  events: EventBus;
  throttle: Throttle;
  /** Orphans younger than this stay (the janitor timeout: a write may still be arriving). */
  orphanAgeMs: number;
  /** Lost data is logged at level `error` as "DATA LOST" (an alarm can match the message). */
  log: Logger;
  clock: Clock;
}

/** The index is read this many entries at a time. */
const PAGE = 100;
/** Segments checked at once: reads of one overlap the decode and writes of another. */
const SCAN_WINDOW = 3;
/** Progress is saved this often during a scan, and whenever a step ends. */
const SAVE_EVERY_MS = 500;
/** A lease outlives its invocation's deadline by this much, for the last checkpoint. */
const LEASE_MARGIN_MS = 60_000;

/** The vault's job lost its lease to another invocation mid-step (that one carries on). */
class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/** A restart replaces a running job at most this long after it started, so a scrub finishes. */
export const MIN_RESTART_INTERVAL_MS = 60_000;

/**
 * Starts a rebuild of `vault` unless one is running (then returns that one), and asks for an
 * invocation to work on it.
 * @throws VaultNotFoundError, RebuildRestartTooSoonError (a restart of a running job within a
 * minute of its start)
 */
export async function startRebuild(
  deps: Pick<RebuilderDeps, 'vaults' | 'jobs' | 'trigger' | 'clock'>,
  vault: string,
  request: RebuildRequest,
): Promise<RebuildJob> {
  await deps.vaults.get(vault);
  const now = deps.clock.date();
  // Restarting a running job throws its progress away: repeated, a scrub would never finish.
  if (request.restart) {
    const last = await deps.jobs.get(vault);
    const since = now.getTime() - Date.parse(last?.startedAt ?? '');
    if (last?.state === 'running' && since < MIN_RESTART_INTERVAL_MS)
      throw new RebuildRestartTooSoonError(vault, since, MIN_RESTART_INTERVAL_MS);
  }
  const job = await deps.jobs.start(newRebuildJob(vault, request, now), request.restart);
  if (job.state === 'running') await deps.trigger.continue(vault, job.id);
  return job;
}

export interface StepResult {
  /** The job after this step; undefined when another invocation held it or it was replaced. */
  job?: RebuildJob;
  /** The job is unfinished: another invocation should carry on. */
  more: boolean;
}

/** Works on job `id` of `vault` until `deadline` (epoch ms). Safe to call twice at once. */
export async function runRebuildStep(
  deps: RebuilderDeps,
  vault: string,
  id: string,
  deadline: number,
): Promise<StepResult> {
  const now = () => deps.clock.now();
  const holder = randomUUID();
  if (!(await deps.jobs.lease(vault, id, holder, deadline + LEASE_MARGIN_MS, now()))) {
    return { more: false };
  }
  const job = await deps.jobs.get(vault);
  if (!job || job.id !== id || job.state === 'done') return { job, more: false };
  job.invocations++;
  const step = new Step(deps, job, holder, deadline);
  try {
    await step.drainRepairQueue();
    if (job.phase === 'count') await step.count();
    if (job.phase === 'scan') await step.scan();
    if (job.phase === 'orphans') await step.sweepOrphans();
    if (job.phase === 'done') {
      job.state = 'done';
      job.finishedAt = new Date(now()).toISOString();
      if (job.segmentsLost > 0) {
        deps.log.error('DATA LOST', undefined, {
          vault,
          job: id,
          segmentsLost: job.segmentsLost,
          keys: [...new Set(job.lost.map((l) => l.key))],
        });
      }
    }
    await step.save(true);
    return { job, more: job.state === 'running' };
  } catch (err) {
    if (err instanceof LeaseLostError) return { more: false };
    // Keep what was done; the lease ends, so the next invocation retries from the checkpoint.
    // The step's own error is the one thrown; a checkpoint that fails too is logged, since the
    // next invocation then redoes work (or waits for the lease to expire) and someone should
    // be able to see why.
    await step.save(true).catch((saveErr: unknown) =>
      deps.log.warn('checkpoint not saved after a failed step', {
        vault,
        job: id,
        error: describeError(saveErr),
      }),
    );
    throw err;
  }
}

class Step {
  private readonly deps: RebuilderDeps;
  private readonly job: RebuildJob;
  private readonly holder: string;
  private readonly deadline: number;
  private scannedHere = 0;
  private savedAt = 0;
  private readonly announced = new Set<string>();
  /** Revisions already announced as repaired by this invocation. */
  private readonly repaired = new Set<string>();
  private saving = false;

  constructor(deps: RebuilderDeps, job: RebuildJob, holder: string, deadline: number) {
    this.deps = deps;
    this.job = job;
    this.holder = holder;
    this.deadline = deadline;
  }

  private now(): number {
    return this.deps.clock.now();
  }

  private timeUp(): boolean {
    if (this.now() >= this.deadline) return true;
    return this.job.stepSegments > 0 && this.scannedHere >= this.job.stepSegments;
  }

  /** Saves at most every `SAVE_EVERY_MS` (one write per segment would cost more than some segments). */
  private async saveNowAndThen(): Promise<void> {
    if (this.saving || this.now() - this.savedAt < SAVE_EVERY_MS) return;
    this.saving = true;
    try {
      await this.save();
    } finally {
      this.saving = false;
    }
  }

  async save(release = false): Promise<void> {
    this.savedAt = this.now();
    this.job.updatedAt = new Date(this.now()).toISOString();
    if (!(await this.deps.jobs.save(this.job, this.holder, release))) throw new LeaseLostError();
  }

  /** Damage met by reads, repaired before anything else. The queue serves every vault. */
  async drainRepairQueue(): Promise<void> {
    const seen = new Set<string>();
    // One read reports damage in many segments of one object: its entry is looked up once.
    const entries = new Map<string, Promise<IndexEntry | undefined>>();
    while (!this.timeUp()) {
      const batch = await this.deps.inbox.receive(10);
      if (batch.length === 0) return;
      for (const { damage } of batch) {
        this.job.queueRecords++;
        const id = `${damage.vault}\0${damage.key}\0${damage.revision}\0${damage.segment}`;
        if (seen.has(id)) continue;
        seen.add(id);
        const object = `${damage.vault}\0${damage.key}`;
        let lookup = entries.get(object);
        if (!lookup) {
          lookup = this.deps.index.get(damage.vault, damage.key);
          entries.set(object, lookup);
        }
        const entry = await lookup;
        // A newer revision or a delete since the read: nothing of the damaged one to repair.
        if (!entry || entry.revision !== damage.revision || damage.segment >= entry.segments)
          continue;
        await this.healSegment(entry, damage.segment);
      }
      await this.deps.inbox.remove(batch.map((b) => b.handle));
      await this.save();
    }
  }

  async count(): Promise<void> {
    do {
      if (this.now() >= this.deadline) return;
      const page = await this.deps.index.list(this.job.vault, '', PAGE, this.job.countCursor);
      this.job.totalObjects += page.entries.length;
      for (const e of page.entries) this.job.totalSegments += e.segments;
      this.job.countCursor = page.cursor;
      if (!page.cursor) this.job.phase = 'scan';
      await this.save();
    } while (this.job.countCursor);
  }

  async scan(): Promise<void> {
    const started = this.now();
    try {
      await this.scanPages();
    } finally {
      this.job.scanMs += this.now() - started;
    }
  }

  /**
   * Segments are checked `SCAN_WINDOW` at a time, in index order. The checkpoint only moves over
   * segments finished without a gap, and a step that must stop launches nothing more and lets
   * those in flight finish, so a resumed job redoes none (after a crash, at most a window).
   */
  private async scanPages(): Promise<void> {
    for (;;) {
      const at = this.job.scanCursor;
      const page = await this.deps.index.list(this.job.vault, '', PAGE, at?.page);
      const queued: Array<{ entry: IndexEntry; segment: number }> = [];
      for (const entry of page.entries) {
        // By UTF-8 bytes, as the index sorts (compareKeys).
        if (at && compareKeys(entry.key, at.key) < 0) continue;
        // The checkpoint's segment counts only for the revision it was taken on.
        const first = at && entry.key === at.key && entry.revision === at.revision ? at.segment : 0;
        for (let s = first; s < entry.segments; s++) queued.push({ entry, segment: s });
      }
      const finished: boolean[] = Array(queued.length).fill(false);
      let next = 0;
      let contiguous = 0;
      // A worker that fails (a lost lease, a unit error) stops the others: none may heal or
      // save on after this step has given the job up.
      let failed = false;
      const worker = async () => {
        while (next < queued.length && !failed && !this.timeUp()) {
          const i = next++;
          this.scannedHere++;
          const { entry, segment } = queued[i] as (typeof queued)[number];
          await this.healSegment(entry, segment);
          this.job.segmentsScanned++;
          finished[i] = true;
          while (contiguous < queued.length && finished[contiguous]) contiguous++;
          const last = queued[contiguous - 1];
          if (last) {
            this.job.scanCursor = {
              ...(at?.page ? { page: at.page } : {}),
              key: last.entry.key,
              revision: last.entry.revision,
              segment: last.segment + 1,
            };
          }
          await this.saveNowAndThen();
        }
      };
      const ran = await Promise.allSettled(
        Array.from({ length: SCAN_WINDOW }, () =>
          worker().catch((err) => {
            failed = true;
            throw err;
          }),
        ),
      );
      const failure = ran.find((r) => r.status === 'rejected');
      if (failure) throw failure.reason;
      if (contiguous < queued.length) {
        await this.save();
        return;
      }
      if (!page.cursor) {
        this.job.phase = 'orphans';
        await this.save();
        return;
      }
      this.job.scanCursor = { page: page.cursor, key: '', revision: '', segment: 0 };
      await this.save();
      if (this.timeUp()) return;
    }
  }

  /** Checks one committed segment and regenerates what it can. */
  private async healSegment(entry: IndexEntry, segment: number): Promise<void> {
    const health = await inspectSegment(this.deps.slices, entry, segment, { keepPayloads: true });
    const read = health.pillars.reduce((sum, p) => sum + p.bytes, 0);
    this.job.bytesMoved += read;
    await this.deps.throttle.take(read);
    if (health.verdict === 'healthy') return;
    // The entry came from an index page read a while ago (a page takes hours to scan at the
    // throttle's pace): a write may have replaced the object since, its old slices purged, or a
    // topology job moved pillars off the units the page names (the old copies deleted). Judged
    // on that, it would be healed onto units it left, or said lost while it is whole: looked up
    // again, and judged only while the entry still holds.
    const now = await this.deps.index.get(entry.vault, entry.key);
    if (
      now?.revision !== entry.revision ||
      now.units.length !== entry.units.length ||
      now.units.some((u, i) => u !== entry.units[i])
    ) {
      this.deps.log.info('rebuild: object moved or replaced since its page was read; not judged', {
        vault: entry.vault,
        key: entry.key,
      });
      return;
    }
    if (health.verdict === 'lost') {
      const lost = { key: entry.key, revision: entry.revision, segment, good: health.good };
      // A segment is met twice when a read reported it to the repair queue and the scan reaches
      // it too, or when a step that checkpointed past it crashes and the next resumes before
      // it: it is counted once (past the list's room, roomForLost, it may be counted again).
      const listed = this.job.lost.some(
        (l) => l.key === lost.key && l.revision === lost.revision && l.segment === segment,
      );
      if (listed) return;
      this.job.segmentsLost++;
      if (roomForLost(this.job.lost, lost)) this.job.lost.push(lost);
      if (!this.announced.has(entry.revision)) {
        this.announced.add(entry.revision);
        await this.deps.events.publish(lostEvent(entry, new Date(this.now())));
      }
      this.deps.log.error('DATA LOST', undefined, {
        vault: entry.vault,
        ...lost,
        needed: entry.readThreshold,
        pillars: health.pillars.map((p) => ({ unit: p.unit, defect: p.defect ?? 'good' })),
      });
      return;
    }
    // A unit that errs (rather than answering "no such slice" or bad bytes) may hold a good
    // slice: it is left alone, and the next rebuild looks again.
    const rewrite = health.pillars.filter((p) => p.defect && p.defect !== 'unreadable');
    if (rewrite.length === 0) return;
    const k = entry.readThreshold;
    const n = entry.units.length;
    const shards: Array<Uint8Array | null> = health.pillars.map((p) => p.payload ?? null);
    if (health.length === 0) shards.fill(new Uint8Array(0));
    else codecFor(k, n - k).reconstruct(shards);
    let wrote = 0;
    for (const p of rewrite) {
      const name = parseSliceName(p.key);
      const bytes = encodeSlice(
        { name, dataShards: k, parityShards: n - k, segmentLength: health.length },
        shards[p.pillar] as Uint8Array,
      );
      await this.deps.throttle.take(bytes.length);
      try {
        await this.deps.slices.put(p.unit, p.key, bytes, s3Crc32(bytes));
        this.job.slicesRepaired++;
        this.job.bytesMoved += bytes.length;
        wrote++;
      } catch (err) {
        this.job.repairFailures++;
        this.deps.log.warn('repair write failed', {
          unit: p.unit,
          key: p.key,
          error: describeError(err),
        });
      }
    }
    if (wrote > 0) {
      this.job.segmentsRepaired++;
      if (!this.repaired.has(entry.revision)) {
        this.repaired.add(entry.revision);
        await this.deps.events.publish(repairedEvent(entry, new Date(this.now())));
      }
    }
  }

  sweepOrphans(): Promise<void> {
    return sweepOrphans({
      deps: this.deps,
      job: this.job,
      deadline: this.deadline,
      saveNowAndThen: () => this.saveNowAndThen(),
      save: () => this.save(),
    });
  }
}

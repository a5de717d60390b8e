/**
 * The committer: the second DS processing unit of seed 000. It tallies unit statuses per
 * segment, flips a revision to committed once every segment has `T` favorable statuses (exactly
 * once, by a conditional write), then runs the revision's associated tasks. The writer never
 * commits: when it learns the segment count after the last status was counted, it nudges the
 * committer through the status group (`commitWhenDone`). Statuses arrive at
 * least once and in any order, in batches; every step below is idempotent, so duplicates and
 * reordering change nothing.
 */
import type { Clock } from '../clock.ts';
import { FENCE_FREE_MS, fenceRevision, viewReader } from './commit-fence.ts';
import type { CommitterInput } from './commit-nudge.ts';
import { preconditionRule } from './object-attributes.ts';
import { committedEvent } from './object-event.ts';
import type { EventBus, Ledger, ObjectIndex, SegmentTally } from './ports.ts';
import {
  judgeSegment,
  type RevisionRecord,
  revisionTime,
  type TallyVerdict,
  type UnitStatus,
} from './revision.ts';
import type { TopologyNow } from './unit.ts';

/**
 * How long a replaced (or deleted) revision's slices stay readable for readers already on it:
 * longer than the longest read that began before the replacement, the reader function's stream
 * (Lambda's 15-minute timeout), so a read through the API or the reader ends as it began, as an
 * S3 GET does across an overwrite, and a client's window of slice URLs (5 minutes by default)
 * is read through; its next window, asked for the revision it began with, is refused (412).
 * The price is storage: an overwritten object's old slices stay some 16 to 21 minutes (the
 * janitor runs every 5).
 */
export const GARBAGE_GRACE_MS = 16 * 60_000;

export interface CommitterDeps {
  ledger: Ledger;
  tasks: AssociatedTaskRegistry;
  clock: Clock;
  /**
   * The vault's current topology, as the units read it (`topologyView`): a revision whose
   * topology was superseded past the grace is failed, not committed (superseded-write.ts).
   * Without it, no revision is fenced.
   */
  currentTopology?: (vault: string, options?: { fresh?: boolean }) => Promise<TopologyNow>;
}

/**
 * Fails `revision` (of `record`, read when older than FENCE_FREE_MS and not given) when its
 * topology was superseded past the grace (commit-fence.ts). True when it stands failed; false
 * when it may commit, or was committed meanwhile.
 */
async function failIfSuperseded(
  deps: CommitterDeps,
  revision: string,
  record?: RevisionRecord,
): Promise<boolean> {
  const view = deps.currentTopology;
  const now = deps.clock.now();
  if (!view || now - revisionTime(revision) < FENCE_FREE_MS) return false;
  const written = record ?? (await deps.ledger.get(revision));
  if (written?.state !== 'pending') return false;
  const fenced = await fenceRevision(
    deps.ledger,
    written,
    viewReader(view),
    now,
    now + FAILED_CLEANUP_DELAY_MS,
  );
  return fenced?.state === 'failed';
}

/**
 * Something to do once a revision is committed, with its own ports captured when it was
 * registered. It may run more than once (a crash between the tasks and their "done" mark reruns
 * them all), so it must be idempotent. It returns `'refused'` when the revision must not be
 * visible after all (its precondition failed as the index was pointed at it): the tasks after
 * it do not run.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: most tasks have nothing to say, and return nothing.
export type AssociatedTask = (record: RevisionRecord) => Promise<void | 'refused'>;

/** The hook later systems plug into: listeners, work items, replication. */
export class AssociatedTaskRegistry {
  private readonly tasks: Array<{ name: string; run: AssociatedTask }> = [];

  register(name: string, run: AssociatedTask): this {
    if (this.tasks.some((t) => t.name === name))
      throw new Error(`task "${name}" is already registered`);
    this.tasks.push({ name, run });
    return this;
  }

  names(): string[] {
    return this.tasks.map((t) => t.name);
  }

  async runAll(record: RevisionRecord): Promise<void> {
    for (const task of this.tasks) {
      try {
        if ((await task.run(record)) === 'refused') return;
      } catch (err) {
        throw new Error(
          `associated task "${task.name}" failed for ${record.revision}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
  }
}

/** Makes the key point at the revision, unless a newer one already won; retires what it replaced. */
export function indexTask(deps: {
  index: ObjectIndex;
  ledger: Ledger;
  clock: Clock;
}): AssociatedTask {
  return async (record) => {
    const now = deps.clock.date();
    const { replaced, stale, refused } = await deps.index.publish(
      {
        vault: record.vault,
        key: record.key,
        revision: record.revision,
        objectId: record.objectId,
        size: record.size ?? 0,
        sha256: record.sha256 ?? '',
        segments: record.segments ?? 0,
        segmentSize: record.segmentSize,
        readThreshold: record.readThreshold,
        units: record.units,
        ...(record.topology === undefined ? {} : { topology: record.topology }),
        committedAt: record.committedAt ?? now.toISOString(),
        ...(record.attributes ? { attributes: record.attributes } : {}),
        ...(record.writer === undefined ? {} : { writer: record.writer }),
        // A server-side writer that found the bytes clean as it encoded them (write-scan.ts)
        // has said all a scan would: the entry is clean from the start, and the access system's
        // scan task, which runs later, skips it (no read of the entry, no second write). Any
        // other verdict, or none, is the scan task's to record (and an infected one to announce).
        scanState: record.scanned?.state === 'clean' ? 'clean' : 'pending',
      },
      record.precondition,
    );
    const due = now.getTime() + GARBAGE_GRACE_MS;
    if (refused && record.precondition) {
      await deps.ledger.retire(record.revision, due, preconditionRule(record.precondition));
      return 'refused';
    }
    if (stale) await deps.ledger.retire(record.revision, due);
    if (replaced && replaced !== record.revision) await deps.ledger.retire(replaced, due);
  };
}

/** Tells subscribers of the vault events topic. */
export function eventTask(deps: { events: EventBus; clock: Clock }): AssociatedTask {
  return (record) => deps.events.publish(committedEvent(record, deps.clock.date()));
}

/** The tasks every deployment runs on commit, in order. */
export function defaultTasks(deps: {
  index: ObjectIndex;
  ledger: Ledger;
  events: EventBus;
  clock: Clock;
}): AssociatedTaskRegistry {
  return new AssociatedTaskRegistry()
    .register('index', indexTask(deps))
    .register('object-event', eventTask(deps));
}

/**
 * How long after a commit a committer that finds the tasks not done waits for the one that
 * committed to finish them, before running them itself.
 */
export const TASKS_OWNER_MS = 2000;
/** The first look while waiting; each later one waits twice as long, up to TASKS_LOOK_MAX_MS. */
const TASKS_LOOK_MS = 10;
const TASKS_LOOK_MAX_MS = 200;

/**
 * A revision found committed with its tasks not done, by a committer that did not commit it:
 * usually a status that came after `T` did, while the committing invocation runs the tasks.
 * Running them here too repeated every task (the scan reads the object back) for a quarter of
 * small writes and over a third of 8 MiB ones. So, for up to TASKS_OWNER_MS after the commit,
 * this waits for the done mark instead, and returns the revision as last read: done, or still
 * not done, and then the caller runs the tasks. The wait is bounded by the commit's age, not by
 * this caller's start: a committing invocation that died is replaced by the redelivery of its
 * own messages, which comes after the queue's visibility timeout, or at once after a local
 * cloud restart; either way, no later than TASKS_OWNER_MS after the commit, it runs the tasks.
 */
async function awaitOwnersTasks(
  deps: CommitterDeps,
  record: RevisionRecord,
): Promise<RevisionRecord> {
  const committedAt = Date.parse(record.committedAt ?? '');
  if (!Number.isFinite(committedAt)) return record;
  let current = record;
  let look = TASKS_LOOK_MS;
  for (;;) {
    const left = committedAt + TASKS_OWNER_MS - deps.clock.now();
    if (left <= 0) return current;
    await deps.clock.sleep(Math.min(look, left));
    look = Math.min(look * 2, TASKS_LOOK_MAX_MS);
    const read = await deps.ledger.get(current.revision);
    if (read?.state !== 'committed' || read.tasksDone) return read ?? current;
    current = read;
  }
}

/**
 * Commits the revision if all its segments are done, then runs its associated tasks if they
 * have not all run. Safe to call any number of times; only the committer calls it.
 */
async function tryCommit(deps: CommitterDeps, record: RevisionRecord): Promise<RevisionRecord> {
  let current = record;
  let committedHere = false;
  if (
    current.state === 'pending' &&
    current.segments !== undefined &&
    current.doneSegments >= current.segments
  ) {
    if (await failIfSuperseded(deps, current.revision, current))
      return (await deps.ledger.get(current.revision)) ?? current;
    const at = deps.clock.date();
    if (await deps.ledger.commit(current.revision, current.segments, at)) {
      current = { ...current, state: 'committed', committedAt: at.toISOString() };
      committedHere = true;
    } else {
      current = (await deps.ledger.get(current.revision)) ?? current;
    }
  }
  return runTasks(deps, current, committedHere);
}

/** Runs a committed revision's associated tasks unless they all ran; `committedHere` by this call. */
async function runTasks(
  deps: CommitterDeps,
  record: RevisionRecord,
  committedHere: boolean,
): Promise<RevisionRecord> {
  let current = record;
  // Someone else committed it: its tasks may be running there. Wait for them a little; running
  // them here too costs a repeat, but leaves no committed revision without them if it died.
  if (current.state === 'committed' && !current.tasksDone && !committedHere)
    current = await awaitOwnersTasks(deps, current);
  if (current.state === 'committed' && !current.tasksDone) {
    await deps.tasks.runAll(current);
    await deps.ledger.markTasksDone(current.revision);
    current = { ...current, tasksDone: true };
  }
  return current;
}

/**
 * Commits each revision whose segments are all done (and runs its tasks), as the writer asks
 * when it learnt the segment count after the last status was counted. Idempotent; a revision
 * that is not ready, or gone, is left as it is. One result per revision, in order.
 */
export async function commitWhenDone(
  deps: CommitterDeps,
  revisions: string[],
): Promise<PromiseSettledResult<void>[]> {
  const runs = new Map<string, Promise<void>>();
  for (const revision of revisions) {
    if (runs.has(revision)) continue;
    runs.set(
      revision,
      (async () => {
        const record = await deps.ledger.get(revision);
        if (record) await tryCommit(deps, record);
      })(),
    );
  }
  return Promise.allSettled(revisions.map((r) => runs.get(r)));
}

/** How long a failed revision's slices wait before the janitor removes them. */
export const FAILED_CLEANUP_DELAY_MS = 0;

interface SegmentVerdict {
  segment: number;
  tally: SegmentTally;
  verdict: TallyVerdict;
}

/** One write for all the statuses of a segment; undefined when the segment is not open. */
async function tallySegment(
  deps: CommitterDeps,
  revision: string,
  statuses: UnitStatus[],
): Promise<SegmentVerdict | undefined> {
  const first = statuses[0] as UnitStatus;
  const tally = await deps.ledger.tally(revision, first.segment, {
    vault: first.vault,
    favorable: statuses.filter((s) => s.ok).map((s) => s.pillar),
    unfavorable: statuses.filter((s) => !s.ok).map((s) => s.pillar),
    failedUnits: statuses.filter((s) => !s.ok).map((s) => s.unit),
  });
  if (!tally) return undefined;
  const verdict = judgeSegment(
    tally.favorable,
    tally.unfavorable,
    tally.width,
    tally.writeThreshold,
  );
  return { segment: first.segment, tally, verdict };
}

/**
 * Statuses of segments the writer has not opened. The writer opens every segment before its
 * message goes out, so these are either of a revision written before segments were opened, or
 * bogus. The revision decides: once it records its segment count, a segment below that count is
 * opened from it and counted; any other counts nothing (a status for segment 7 of a 2-segment
 * revision must not make it visible, nor fail it). A revision no longer pending may still need
 * its commit finished, as for any late status.
 */
async function tallyUnopened(
  deps: CommitterDeps,
  revision: string,
  groups: UnitStatus[][],
): Promise<SegmentVerdict[]> {
  const record = await deps.ledger.get(revision);
  if (!record) return [];
  const count = record.segments;
  const ours = groups.filter((g) => {
    const first = g[0] as UnitStatus;
    return first.vault === record.vault && count !== undefined && first.segment < count;
  });
  if (record.state !== 'pending') {
    await tryCommit(deps, record);
    return [];
  }
  const judge = {
    vault: record.vault,
    width: record.units.length,
    writeThreshold: record.writeThreshold,
  };
  const verdicts = await Promise.all(
    ours.map(async (g) => {
      await deps.ledger.openSegment(revision, (g[0] as UnitStatus).segment, judge);
      return tallySegment(deps, revision, g);
    }),
  );
  return verdicts.filter((v) => v !== undefined);
}

async function recordRevision(
  deps: CommitterDeps,
  revision: string,
  statuses: UnitStatus[],
): Promise<void> {
  const groups = [...Map.groupBy(statuses, (s) => `${s.segment}/${s.vault}`).values()];
  const tallied = await Promise.all(groups.map((g) => tallySegment(deps, revision, g)));
  const verdicts = tallied.filter((v) => v !== undefined);
  const unopened = groups.filter((_, i) => tallied[i] === undefined);
  if (unopened.length > 0) verdicts.push(...(await tallyUnopened(deps, revision, unopened)));

  const lost = verdicts.find((v) => v.verdict === 'segment-lost');
  if (lost) {
    const now = deps.clock.now();
    await deps.ledger.fail(
      revision,
      `segment ${lost.segment} can no longer reach ${lost.tally.writeThreshold} of ${lost.tally.width} units`,
      now + FAILED_CLEANUP_DELAY_MS,
    );
    return;
  }
  // The batch whose tally brought a segment to T marks it (and commits, and runs the tasks).
  // Statuses that find it at T already, all of them new pillars, leave that to it: it marks,
  // or it failed or died, and then its own statuses come again, find their pillars counted
  // (`repeated`), and mark. Those repeats, and any segment reaching T in this batch, mark here;
  // the statuses past T that come after the commit (the sixth of a 5-of-6 write, most often)
  // cost their tally alone, not a mark, a commit's try and reads of the revision besides.
  const reached = verdicts.filter(
    (v) =>
      v.verdict === 'segment-done' &&
      (v.tally.favorableBefore < v.tally.writeThreshold || v.tally.repeated),
  );
  if (reached.length === 0) return;
  const done = reached.map((v) => v.segment);
  // A batch that marks segments 0..m-1, which for a revision of one segment is the batch that
  // reached T: if they are the whole revision (its count is m), marking and committing are one
  // conditional write. A miss (more segments, a count not recorded yet, a revision committed
  // already, as for a redelivery) costs that one request more, then takes the two writes below.
  if (new Set(done).size === done.length && done.every((segment) => segment < done.length)) {
    if (await failIfSuperseded(deps, revision)) return;
    const committed = await deps.ledger.commitWhole(revision, done.length, deps.clock.date());
    if (committed) {
      await runTasks(deps, committed, true);
      return;
    }
  }
  const record = await deps.ledger.markSegmentsDone(revision, done);
  if (record) await tryCommit(deps, record);
}

/**
 * Records a batch of unit statuses: per revision, one conditional write per segment counts
 * them, and only a segment reaching `T` (or lost) touches the revision. Idempotent: tallies
 * and the done set are sets, state flips are conditional writes, so duplicates and reordering
 * change nothing. Returns one result per status, in order; a rejected one must come again.
 */
export async function recordStatusesOnce(
  deps: CommitterDeps,
  statuses: UnitStatus[],
): Promise<PromiseSettledResult<void>[]> {
  const runs = new Map<string, Promise<void>>();
  for (const [revision, group] of Map.groupBy(statuses, (s) => s.revision))
    runs.set(revision, recordRevision(deps, revision, group));
  return Promise.allSettled(statuses.map((s) => runs.get(s.revision)));
}

/** Records one unit status (see `recordStatusesOnce`). */
export async function recordStatusOnce(deps: CommitterDeps, status: UnitStatus): Promise<void> {
  const [result] = await recordStatusesOnce(deps, [status]);
  if (result?.status === 'rejected') throw result.reason;
}

/**
 * Settles a batch of the status group's messages: statuses are tallied together, nudges commit
 * what is ready. One result per input, in order; a rejected one must come again.
 */
export async function settleCommitterBatch(
  deps: CommitterDeps,
  inputs: CommitterInput[],
): Promise<PromiseSettledResult<void>[]> {
  const statuses: UnitStatus[] = [];
  const nudges: string[] = [];
  for (const input of inputs) {
    if ('status' in input) statuses.push(input.status);
    else nudges.push(input.nudge);
  }
  const [tallied, nudged] = await Promise.all([
    recordStatusesOnce(deps, statuses),
    commitWhenDone(deps, nudges),
  ]);
  return inputs.map((input) =>
    'status' in input
      ? (tallied.shift() as PromiseSettledResult<void>)
      : (nudged.shift() as PromiseSettledResult<void>),
  );
}

/**
 * The committer: the second DS processing unit of seed 000. It tallies unit statuses per
 * segment, flips a revision to committed once every segment has `T` favorable statuses (exactly
 * once, by a conditional write), then runs the revision's associated tasks. Statuses arrive at
 * least once and in any order; every step below is idempotent, so duplicates and reordering
 * change nothing.
 */
import type { EventBus, Ledger, ObjectIndex } from './ports.ts';
import { judgeSegment, type RevisionRecord, type UnitStatus } from './revision.ts';

/** How long a replaced revision's slices stay readable for readers already streaming it. */
export const GARBAGE_GRACE_MS = 60_000;

export interface CommitterDeps {
  ledger: Ledger;
  index: ObjectIndex;
  events: EventBus;
  tasks: AssociatedTaskRegistry;
  now?: () => Date;
}

/**
 * Something to do once a revision is committed. It may run more than once (a crash between
 * the tasks and their "done" mark reruns them all), so it must be idempotent.
 */
export type AssociatedTask = (record: RevisionRecord, deps: CommitterDeps) => Promise<void>;

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

  async runAll(record: RevisionRecord, deps: CommitterDeps): Promise<void> {
    for (const task of this.tasks) {
      try {
        await task.run(record, deps);
      } catch (err) {
        throw new Error(
          `associated task "${task.name}" failed for ${record.revision}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
  }
}

/** Makes the key point at the revision, unless a newer one already won; retires what it replaced. */
export const indexTask: AssociatedTask = async (record, deps) => {
  const now = (deps.now ?? (() => new Date()))();
  const { replaced, stale } = await deps.index.publish({
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
    committedAt: record.committedAt ?? now.toISOString(),
  });
  const due = now.getTime() + GARBAGE_GRACE_MS;
  if (stale) await deps.ledger.retire(record.revision, due);
  if (replaced && replaced !== record.revision) await deps.ledger.retire(replaced, due);
};

/** Tells subscribers of the vault events topic. */
export const eventTask: AssociatedTask = async (record, deps) => {
  await deps.events.publish({
    type: 'object.committed',
    vault: record.vault,
    key: record.key,
    revision: record.revision,
    size: record.size,
    sha256: record.sha256,
    time: record.committedAt ?? new Date().toISOString(),
  });
};

/** The tasks every deployment runs on commit, in order. */
export function defaultTasks(): AssociatedTaskRegistry {
  return new AssociatedTaskRegistry()
    .register('index', indexTask)
    .register('object-event', eventTask);
}

/**
 * Commits the revision if all its segments are done, then runs its associated tasks if they
 * have not all run. Safe to call any number of times, from the committer or the writer.
 */
export async function tryCommit(
  deps: CommitterDeps,
  record: RevisionRecord,
): Promise<RevisionRecord> {
  let current = record;
  if (
    current.state === 'pending' &&
    current.segments !== undefined &&
    current.doneSegments >= current.segments
  ) {
    await deps.ledger.commit(
      current.revision,
      current.segments,
      (deps.now ?? (() => new Date()))(),
    );
    current = (await deps.ledger.get(current.revision)) ?? current;
  }
  if (current.state === 'committed' && !current.tasksDone) {
    await deps.tasks.runAll(current, deps);
    await deps.ledger.markTasksDone(current.revision);
    current = { ...current, tasksDone: true };
  }
  return current;
}

/** How long a failed revision's slices wait before the janitor removes them. */
export const FAILED_CLEANUP_DELAY_MS = 0;

/**
 * Records one unit status. Idempotent: the tally is a set of pillars per segment, the done
 * set is a set of segments, and the state flips are conditional writes.
 */
export async function recordStatusOnce(deps: CommitterDeps, status: UnitStatus): Promise<void> {
  const record = await deps.ledger.get(status.revision);
  // A status for a revision the ledger never saw (or already purged) has nothing to count toward.
  if (!record || record.vault !== status.vault) return;
  if (record.state !== 'pending') {
    await tryCommit(deps, record);
    return;
  }
  const { favorable, unfavorable } = await deps.ledger.tally(status);
  const width = record.units.length;
  const verdict = judgeSegment(favorable, unfavorable, width, record.writeThreshold);
  if (verdict === 'segment-done') {
    await tryCommit(deps, await deps.ledger.markSegmentDone(status.revision, status.segment));
  } else if (verdict === 'segment-lost') {
    const now = (deps.now ?? (() => new Date()))().getTime();
    await deps.ledger.fail(
      status.revision,
      `segment ${status.segment} can no longer reach ${record.writeThreshold} of ${width} units`,
      now + FAILED_CLEANUP_DELAY_MS,
    );
  }
}

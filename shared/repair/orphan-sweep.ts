/**
 * The rebuild's orphan sweep: lists each unit's slices of the vault and deletes those of
 * revisions the ledger no longer knows (a write whose revision the janitor purged, or unit
 * messages that arrived after it), once older than the janitor timeout. Revisions the ledger
 * still holds (pending, failed, replaced) are the janitor's; a committed, current revision is
 * never touched. A committed revision whose tasks are done but whose key names a newer revision,
 * or none, was replaced or deleted and its retire lost (a crash between the index's write and
 * the ledger's, which a redelivery cannot see again): it is retired here, for the janitor.
 */
import type { Clock } from '../clock.ts';
import { parseSliceName, revisionPrefix } from '../codec/index.ts';
import {
  GARBAGE_GRACE_MS,
  type Ledger,
  type ObjectIndex,
  type SliceStore,
  type VaultStore,
} from '../store/index.ts';
import type { RebuildJob } from './rebuild-job.ts';

/** What the sweep takes from the rebuild step it runs in (its deps are the rebuilder's). */
export interface SweepStep {
  deps: {
    vaults: VaultStore;
    slices: SliceStore;
    ledger: Ledger;
    index: ObjectIndex;
    /** Orphans younger than this stay. */
    orphanAgeMs: number;
    clock: Clock;
  };
  job: RebuildJob;
  /** Epoch ms: the sweep stops between revisions once it has passed. */
  deadline: number;
  /** Saves the job if the last save is old enough. */
  saveNowAndThen(): Promise<void>;
  /** Saves the job. */
  save(): Promise<void>;
}

/** Sweeps from the job's orphan cursor until the deadline; sets the phase to `done` at the end. */
export async function sweepOrphans(step: SweepStep): Promise<void> {
  const { deps, job } = step;
  const now = () => deps.clock.now();
  const { units } = await deps.vaults.get(job.vault);
  const cursor = job.orphanCursor ?? { unit: 0 };
  const verdicts = new Map<string, 'keep' | 'orphan'>();
  for (let i = cursor.unit; i < units.length; i++) {
    const unit = units[i] as number;
    let group: { prefix: string; revision: string; keys: string[]; newest: number } | undefined;
    const flush = async () => {
      if (!group) return;
      const g = group;
      group = undefined;
      let verdict = verdicts.get(g.revision);
      if (!verdict) {
        verdict = await classify(deps, job, g.revision);
        verdicts.set(g.revision, verdict);
      }
      const age = now() - Math.max(g.newest, revisionTime(g.revision));
      if (verdict === 'orphan' && age >= deps.orphanAgeMs) {
        await deps.slices.delete(unit, g.keys);
        job.orphansDeleted += g.keys.length;
      }
      job.orphanCursor = { unit: i, after: g.keys[g.keys.length - 1] };
      // As in the scan: a save per revision would cost more than the sweep; the step's end
      // saves the cursor, and deletes done again after a crash are idempotent.
      await step.saveNowAndThen();
    };
    const after = i === cursor.unit ? cursor.after : undefined;
    for await (const slice of deps.slices.list(unit, `${job.vault}/`, after)) {
      let name: ReturnType<typeof parseSliceName>;
      try {
        name = parseSliceName(slice.key);
      } catch {
        continue; // not a slice: not ours to judge
      }
      const prefix = revisionPrefix(name.vault, name.objectId, name.revision);
      if (group && group.prefix !== prefix) {
        await flush();
        if (now() >= step.deadline) return;
      }
      group ??= { prefix, revision: name.revision, keys: [], newest: 0 };
      group.keys.push(slice.key);
      group.newest = Math.max(group.newest, slice.lastModified?.getTime() ?? now());
    }
    await flush();
    job.orphanCursor = { unit: i + 1 };
    await step.save();
    if (now() >= step.deadline && i + 1 < units.length) return;
  }
  job.phase = 'done';
}

/** Whose slices these are: a revision the ledger knows stays (the janitor's, or live). */
async function classify(
  deps: SweepStep['deps'],
  job: RebuildJob,
  revision: string,
): Promise<'keep' | 'orphan'> {
  const record = await deps.ledger.get(revision);
  if (!record) return 'orphan';
  if (record.state === 'committed') {
    const entry = await deps.index.get(record.vault, record.key);
    if (entry?.revision === revision) return 'keep';
    // Its own index task ran (tasksDone), so nothing will point the key at it again: the key
    // names a newer revision, or none (deleted). Ids sort by time.
    if (record.tasksDone && (entry === undefined || entry.revision > revision)) {
      await deps.ledger.retire(revision, deps.clock.now() + GARBAGE_GRACE_MS);
      job.revisionsRetired = (job.revisionsRetired ?? 0) + 1;
    }
  }
  job.staleRevisions++;
  return 'keep';
}

/** When a revision was created: its id starts with the millisecond time in base 36. */
function revisionTime(revision: string): number {
  const t = Number.parseInt(revision.slice(0, 10), 36);
  return Number.isFinite(t) ? t : 0;
}

/**
 * The commit fence as the writers and the committer apply it (its rule: superseded-write.ts):
 * a pending revision whose topology was superseded past the grace is failed where it is met (a
 * dispersal's call, a staged step, the committer), and a write under an older topology that
 * reaches the index late is told to the vault's topology job, which passes once more.
 */
import type { Clock } from '../clock.ts';
import type { Ledger } from './ports.ts';
import { type RevisionRecord, revisionTime } from './revision.ts';
import { supersededNow, type TopologyNow, writtenElsewhere } from './superseded-write.ts';

/**
 * A revision this young commits, or is indexed, without a look at its vault's topology. Begun
 * at most SUPERSEDED_GRACE_MS after a switch (the units refuse later ones), it commits by the
 * grace plus this, still ahead of the topology job's last pass (`SETTLE_MS` in
 * topology/mover.ts, twice the grace). So the usual write, committed within a few hundred
 * milliseconds, pays no read.
 */
export const FENCE_FREE_MS = 2000;

/**
 * Fails `record`, pending, when its topology was superseded past the grace, by `read` (confirmed
 * on a fresh read: `supersededNow`), due to the janitor at `dueAt`. Undefined when it may go
 * on; else the revision as it now stands: failed by this call with the fence's reason, or as
 * it was decided meanwhile (committed within the grace, or failed elsewhere).
 */
export async function fenceRevision(
  ledger: Pick<Ledger, 'fail' | 'get'>,
  record: RevisionRecord,
  read: (vault: string, fresh: boolean) => Promise<TopologyNow>,
  now: number,
  dueAt = now,
): Promise<RevisionRecord | undefined> {
  const reason = await supersededNow(record, read, now);
  if (!reason) return undefined;
  const failed: RevisionRecord = { ...record, state: 'failed', reason };
  if (await ledger.fail(record.revision, reason, dueAt)) return failed;
  return (await ledger.get(record.revision)) ?? failed;
}

/** A topology view (`topologyView`, `{fresh}` options) as `fenceRevision`'s `read`. */
export function viewReader(
  view: (vault: string, options?: { fresh?: boolean }) => Promise<TopologyNow>,
): (vault: string, fresh: boolean) => Promise<TopologyNow> {
  return (vault, fresh) => view(vault, fresh ? { fresh } : undefined);
}

/**
 * Where the committer tells a vault's topology job of a write under an older topology indexed
 * late (a commit stalled past the fence's read, or an index task redone after a failure), which
 * the job's last pass may have gone past: the job then passes once more (topology/mover.ts).
 */
export interface LateWrites {
  currentTopology: (vault: string, options?: { fresh?: boolean }) => Promise<TopologyNow>;
  /** Counts the write on the job moving `vault` onto topology `id`. */
  note: (vault: string, id: string) => Promise<void>;
}

/**
 * The committer's task, run after the index task (and last, so that a failed note holds up no
 * other task), that tells the topology job of a revision just indexed if it was written under
 * another topology than the current one and is old enough (FENCE_FREE_MS) to have been indexed
 * late. A young one is indexed before the job's last pass begins, and pays no read. A note too
 * many (a revision that lost to a newer one, a redone task) costs one more pass.
 */
export function lateWriteTask(deps: {
  lateWrites: LateWrites;
  clock: Clock;
}): (record: RevisionRecord) => Promise<void> {
  return async (record) => {
    const late = deps.lateWrites;
    if (deps.clock.now() - revisionTime(record.revision) < FENCE_FREE_MS) return;
    if (!writtenElsewhere(record, await late.currentTopology(record.vault))) return;
    const current = await late.currentTopology(record.vault, { fresh: true });
    if (current.id !== undefined && writtenElsewhere(record, current))
      await late.note(record.vault, current.id);
  };
}

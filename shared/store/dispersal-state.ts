/**
 * A client's dispersal as it stands, for its writer: described (its geometry, state and the
 * segments done, each with the checksums it was announced with), so a client that stopped can
 * resume it; and cancelled, when the writer gives up. The protocol's calls are dispersal.ts's.
 */
import { DispersalStateError } from '../errors.ts';
import { type DispersalDeps, dispersalOf, type OpenedDispersal, openedOf } from './dispersal.ts';
import type { RevisionRecord } from './revision.ts';

/** A dispersal as it stands: its geometry as opened, its state, and the segments done. */
export interface DispersalState extends OpenedDispersal {
  state: RevisionRecord['state'];
  /**
   * Segments that reached T, in order (while pending), with the CRC-32 of each slice they were
   * announced with: a resumed dispersal skips those whose bytes it encodes the same.
   */
  segmentsDone: Array<{ segment: number; crc32?: string[] }>;
  /** Why it failed, when it did. */
  reason?: string;
}

/**
 * A dispersal of `writer`'s as it stands, for resuming it: a client that stopped (killed,
 * cut off) encodes the same source again and places only the segments not done yet, before
 * the pending timeout since its last call.
 * @throws RevisionNotFoundError (another's, or purged)
 */
export async function describeDispersal(
  deps: Pick<DispersalDeps, 'ledger' | 'pendingTimeoutMs'>,
  vault: string,
  revision: string,
  writer?: string,
): Promise<DispersalState> {
  const record = await dispersalOf(deps, vault, revision, writer);
  const done = record.segmentsDone ?? [];
  const checksums = done.length > 0 ? await deps.ledger.announcedChecksums(revision) : new Map();
  return {
    ...openedOf(record, record.dueAt ?? Date.parse(record.createdAt) + deps.pendingTimeoutMs),
    state: record.state,
    segmentsDone: done.map((segment) => {
      const crc32 = checksums.get(segment);
      return crc32 ? { segment, crc32 } : { segment };
    }),
    ...(record.reason === undefined ? {} : { reason: record.reason }),
  };
}

/** The reason a dispersal cancelled by its writer fails with. */
export const CANCELLED_BY_WRITER = 'cancelled by its writer';

/** A cancelled dispersal: its revision failed, and the janitor's next pass removes its slices. */
export interface CancelledDispersal {
  revision: string;
  state: 'failed';
  reason: string;
}

/**
 * Cancels a dispersal: its pending revision fails at once (the same conditional write that
 * commits it requires it pending, so either the cancel or the commit wins, never both) and is
 * due to the janitor now. Cancelling again answers the same; a revision that failed on its own
 * answers with its own reason.
 * @throws RevisionNotFoundError, DispersalStateError (it had committed: delete the object)
 */
export async function cancelDispersal(
  deps: Pick<DispersalDeps, 'ledger' | 'clock'>,
  vault: string,
  revision: string,
  writer?: string,
): Promise<CancelledDispersal> {
  let record = await dispersalOf(deps, vault, revision, writer);
  if (record.state === 'pending') {
    await deps.ledger.fail(revision, CANCELLED_BY_WRITER, deps.clock.now());
    // Failed by this cancel, or committed (or failed) by another just before it.
    record = (await deps.ledger.get(revision)) ?? { ...record, state: 'failed' };
  }
  if (record.state === 'committed' || record.state === 'garbage')
    throw new DispersalStateError(
      revision,
      `had committed before the cancel; delete ${record.key} to remove it`,
    );
  return { revision, state: 'failed', reason: record.reason ?? CANCELLED_BY_WRITER };
}

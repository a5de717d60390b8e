/**
 * A client's dispersal as it stands, for its writer: listed while pending (a script that lost
 * its revision finds it again), described (its geometry, state and the segments done, each
 * with the checksums it was announced with), so a client that stopped can resume it; and
 * cancelled, when the writer gives up. The protocol's calls are dispersal.ts's.
 */
import { DispersalStateError } from '../errors.ts';
import { decimalInteger, parseWith, resourceId, strictObject } from '../validate.ts';
import { type DispersalDeps, dispersalOf, type OpenedDispersal, openedOf } from './dispersal.ts';
import type { RevisionRecord } from './revision.ts';

/** Pending dispersals one listing call answers at most (and by default). */
export const MAX_DISPERSALS_LISTED = 100;

/** The query string of `GET /vaults/{vault}/dispersals`; any other parameter is refused. */
export const dispersalListingQuerySchema = strictObject(
  {
    limit: decimalInteger(1, MAX_DISPERSALS_LISTED).optional(),
    /** The last revision of the page before (its `cursor`). */
    cursor: resourceId().optional(),
  },
  'a dispersal listing parameter',
);

/** One pending dispersal as its writer sees it listed. */
export interface ListedDispersal {
  revision: string;
  key: string;
  createdAt: string;
  /** When it fails unless it makes a call (each call moves this on, up to 12 h in all). */
  pendingUntil: string;
  /** The token its client opened it with, if any. */
  token?: string;
}

/** A page of a writer's pending dispersals: `cursor` asks for the next, when there may be one. */
export interface DispersalListing {
  dispersals: ListedDispersal[];
  cursor?: string;
}

/**
 * The dispersals `writer` opened in `vault` that are still pending, oldest first: a client that
 * lost a revision (a script killed before it printed one) finds it here, to resume (GET, then
 * feed it) or cancel it. Read from an index: one opened or ended a moment ago may show late.
 * @throws InvalidParameterError naming the query parameter
 */
export async function listDispersals(
  deps: Pick<DispersalDeps, 'ledger' | 'pendingTimeoutMs'>,
  vault: string,
  query: Record<string, string | undefined>,
  writer?: string,
): Promise<DispersalListing> {
  const q = parseWith(dispersalListingQuerySchema, query, { name: 'query' });
  const page = await deps.ledger.pendingDispersals(vault, writer, {
    limit: q.limit ?? MAX_DISPERSALS_LISTED,
    ...(q.cursor === undefined ? {} : { after: q.cursor }),
  });
  const dispersals = page.records.map((r) => ({
    revision: r.revision,
    key: r.key,
    createdAt: r.createdAt,
    pendingUntil: new Date(
      r.dueAt ?? Date.parse(r.createdAt) + deps.pendingTimeoutMs,
    ).toISOString(),
    ...(r.openToken === undefined ? {} : { token: r.openToken }),
  }));
  const last = dispersals.at(-1);
  return page.more && last ? { dispersals, cursor: last.revision } : { dispersals };
}

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

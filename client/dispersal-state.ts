/**
 * A client's dispersal beyond its protocol: resuming one that stopped (the segments done,
 * checked against the checksums they were announced with) and cancelling one given up on.
 * uplink.ts disperses; both are its, and re-exported there.
 */
import { type ApiCalls, DsnApiError, type JsonCalls, vaultPath } from './dsn-client.ts';

/** A dispersal as the API opened it. */
export interface Opened {
  revision: string;
  objectId: string;
  vault: string;
  key: string;
  width: number;
  readThreshold: number;
  segmentSize: number;
}

/** A dispersal as the API describes it for resuming, with the segments it has done. */
interface Resumable extends Opened {
  state: string;
  segmentsDone: Array<{ segment: number; crc32?: string[] }>;
}

/**
 * A resume read bytes other than those its dispersal placed: a segment done before encodes to
 * other slices. The dispersal is left pending, for a resume from the right source.
 */
export class ResumeMismatchError extends Error {
  readonly revision: string;
  readonly segment: number;
  constructor(revision: string, segment: number) {
    super(
      `resume: segment ${segment} of dispersal ${revision} was placed from other bytes than this source's; resume it from the source it began with, or cancel it (DELETE .../dispersals/${revision}) and put again`,
    );
    this.name = 'ResumeMismatchError';
    this.revision = revision;
    this.segment = segment;
  }
}

/**
 * A resume of a source it cannot read at offsets (a stream) would hold more than it may of the
 * segments not done that come before its last done one: those wait, as bytes, until every done
 * one is checked, so that none is placed from other bytes. The dispersal is left pending, for a
 * resume from a source it can read at offsets (a file).
 */
export class ResumeHoldError extends Error {
  readonly revision: string;
  readonly limit: number;
  constructor(revision: string, limit: number) {
    super(
      `resume: dispersal ${revision} has more than ${limit} bytes not done before its last done segment, which a resume from a stream holds until the segments done are checked; resume it from a file (read at the segments' offsets), or cancel it (DELETE .../dispersals/${revision}) and put again`,
    );
    this.name = 'ResumeHoldError';
    this.revision = revision;
    this.limit = limit;
  }
}

/**
 * The dispersal of `revision` to resume, and its done segments.
 * @throws DsnApiError: 404 (not this caller's), 409 DispersalState (not pending),
 *   400 InvalidParameter (another key's)
 */
export async function resumed(
  client: JsonCalls,
  vault: string,
  key: string,
  revision: string,
  retry: <T>(call: () => Promise<T>) => Promise<T>,
): Promise<{ opened: Opened; done: Map<number, string[]> }> {
  const path = `${vaultPath(vault)}/dispersals/${encodeURIComponent(revision)}`;
  const found = await retry(() => client.json<Resumable>('GET', path));
  if (found.state !== 'pending')
    throw new DsnApiError(
      409,
      'DispersalState',
      `dispersal ${revision} is ${found.state}; only a pending one can be resumed`,
    );
  if (found.key !== key)
    throw new DsnApiError(
      400,
      'InvalidParameter',
      `resume: dispersal ${revision} writes ${found.key}, not ${key}`,
    );
  // A segment done without its announced checksums (not a client's) is placed again.
  const done = new Map<number, string[]>();
  for (const d of found.segmentsDone) if (d.crc32) done.set(d.segment, d.crc32);
  return { opened: found, done };
}

/**
 * Cancels the dispersal of `revision`: once this answers `cancelled`, nothing of it commits,
 * and the janitor's next pass removes the slices it placed. `committed` means it had committed
 * first (delete the object to remove it). Idempotent: asking again answers the same.
 * @throws the client's API error (404 when no such dispersal of this caller's)
 */
export async function cancelDispersal(
  client: JsonCalls,
  vault: string,
  revision: string,
): Promise<'cancelled' | 'committed'> {
  try {
    await client.json('DELETE', `${vaultPath(vault)}/dispersals/${encodeURIComponent(revision)}`);
    return 'cancelled';
  } catch (err) {
    const { status, code } = err as { status?: unknown; code?: unknown };
    if (status === 409 && code === 'DispersalState') return 'committed';
    throw err;
  }
}

/** A pending dispersal of this caller's, as the API lists it. */
export interface PendingDispersal {
  revision: string;
  key: string;
  createdAt: string;
  /** When it fails unless it makes a call. */
  pendingUntil: string;
  /** The token its client opened it with, if any. */
  token?: string;
}

/**
 * Opens a dispersal of `key` in `vault` under a token of its own, through `retry` (which asks
 * again while the API is busy). An open answered by a gateway's 5xx may have run all the same,
 * so asked again it may have opened two revisions: once one is answered, the others this token
 * opened are cancelled (best effort; the janitor fails any left after its pending timeout), so
 * none waits among the caller's unfinished uploads.
 */
export async function openWithToken(
  client: ApiCalls & JsonCalls,
  vault: string,
  key: string,
  attributes: object | undefined,
  retry: <T>(call: () => Promise<T>) => Promise<T>,
): Promise<Opened> {
  const token = globalThis.crypto.randomUUID();
  let mayHaveRun = false;
  const { body: opened } = await retry(async () => {
    try {
      return await client.postJson<Opened>(`${vaultPath(vault)}/dispersals`, {
        key,
        ...attributes,
        token,
      });
    } catch (err) {
      const { status } = err as { status?: unknown };
      if (typeof status === 'number' && status >= 500) mayHaveRun = true;
      throw err;
    }
  });
  if (mayHaveRun) {
    try {
      for await (const d of pendingDispersals(client, vault))
        if (d.token === token && d.revision !== opened.revision)
          await cancelDispersal(client, vault, d.revision);
    } catch {
      // Best effort: what is left fails at its pending timeout.
    }
  }
  return opened;
}

/**
 * This caller's pending dispersals in `vault`, oldest first, page after page: what a client
 * that lost a revision resumes (`uplinkPut`'s `resume`) or cancels. A dispersal opened or
 * ended a moment ago may show late (the API reads them from an index).
 */
export async function* pendingDispersals(
  client: JsonCalls,
  vault: string,
): AsyncGenerator<PendingDispersal> {
  let cursor: string | undefined;
  do {
    const query = cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`;
    const page = await client.json<{ dispersals: PendingDispersal[]; cursor?: string }>(
      'GET',
      `${vaultPath(vault)}/dispersals${query}`,
    );
    yield* page.dispersals;
    cursor = page.cursor;
  } while (cursor !== undefined);
}

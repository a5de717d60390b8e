/**
 * Read grants: how the API hands a read too large for its payload limit to the reader function
 * (a Lambda function URL that streams). The API answers 307 with a Location on the reader that
 * carries a grant token: 256 random bits naming a stored grant, which holds the vault, the key
 * and the manifest of the revision the API looked up, and expires soon. The reader serves only
 * a token it finds, for the path it was given, before its expiry: a guessed, altered or expired
 * URL is refused (403), and the reader needs no secret and reads the same revision the API saw.
 * When the caller's client group has copies of that revision staged at edge units (shared/edge/),
 * the grant carries where they are, and the reader reads them first, as the API's own GET does.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { ReadGrantRefusedError } from '../errors.ts';
import type { IndexEntry, SliceStore } from './ports.ts';
import type { EdgeSlices } from './reader.ts';

/**
 * How long a Location stays good: long enough to follow a redirect, well within the time a
 * replaced revision's slices stay readable (GARBAGE_GRACE_MS), so a granted revision is there.
 */
export const READ_GRANT_LIFETIME_MS = 30_000;

/**
 * Edge slices a grant names at most. A grant is one DynamoDB item (400 KB), and a staged slice
 * takes some 150 bytes of it (its key is a slice name under the group's prefix): beyond this a
 * grant offers no edge copies and the reader reads the home units (a client's own read still
 * takes them, window by window).
 */
export const MAX_GRANTED_EDGE_SLICES = 2048;

/**
 * Copies of the granted revision staged for the caller's client group: per segment, each staged
 * pillar's edge unit and key (empty for a segment with none).
 */
export interface GrantedEdge {
  revision: string;
  segments: Array<Array<{ pillar: number; unit: number; key: string }>>;
}

export interface ReadGrant {
  token: string;
  /** The manifest of the revision granted. */
  entry: IndexEntry;
  /** Epoch ms. */
  expiresAt: number;
  edge?: GrantedEdge;
}

/** Where grants are kept until they expire. */
export interface ReadGrantStore {
  put(grant: ReadGrant): Promise<void>;
  get(token: string): Promise<ReadGrant | undefined>;
}

export interface ReadGrantDeps {
  grants: ReadGrantStore;
  clock: Clock;
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Grants a read of `entry`'s revision and returns where the reader at `readerUrl` serves it.
 * `edge`: the caller's group's staged copies, offered for this read (ignored unless they are of
 * this very revision).
 */
export async function grantRead(
  deps: ReadGrantDeps,
  readerUrl: string,
  entry: IndexEntry,
  edge?: EdgeSlices,
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const grant: ReadGrant = { token, entry, expiresAt: deps.clock.now() + READ_GRANT_LIFETIME_MS };
  if (edge?.revision === entry.revision) {
    const segments: GrantedEdge['segments'] = [];
    let named = 0;
    for (let s = 0; s < entry.segments && named <= MAX_GRANTED_EDGE_SLICES; s++) {
      const placed = await edge.placement(s);
      segments.push(
        [...(placed ?? new Map())].map(([pillar, { unit, key }]) => ({ pillar, unit, key })),
      );
      named += placed?.size ?? 0;
    }
    if (named > 0 && named <= MAX_GRANTED_EDGE_SLICES)
      grant.edge = { revision: entry.revision, segments };
  }
  await deps.grants.put(grant);
  const url = new URL(readerUrl);
  // The key in the path, so `curl -LO` and browsers name the file after it.
  url.pathname = `${url.pathname.replace(/\/$/, '')}/vaults/${encodeURIComponent(entry.vault)}/objects/${entry.key.split('/').map(encodeURIComponent).join('/')}`;
  url.search = `grant=${token}`;
  return url.toString();
}

/** `vault` and key of a reader path, `/vaults/{vault}/objects/{key+}`, or undefined. */
function pathTarget(rawPath: string): { vault: string; key: string } | undefined {
  const m = /^\/vaults\/([^/]+)\/objects\/(.+)$/.exec(rawPath);
  if (!m) return undefined;
  try {
    return { vault: decodeURIComponent(m[1] as string), key: decodeURIComponent(m[2] as string) };
  } catch {
    return undefined;
  }
}

/**
 * The grant a reader request may be served (its manifest, and any edge copies it offers): its
 * token's grant, when the grant is there, unexpired, and for the path asked.
 * @throws ReadGrantRefusedError
 */
export async function redeemRead(
  deps: ReadGrantDeps,
  rawPath: string,
  token: string | undefined,
): Promise<ReadGrant> {
  if (token === undefined || !TOKEN.test(token))
    throw new ReadGrantRefusedError("the URL carries no grant (follow the API's 307 Location)");
  const grant = await deps.grants.get(token);
  if (!grant) throw new ReadGrantRefusedError('the grant is unknown or gone: ask the API again');
  if (grant.expiresAt <= deps.clock.now())
    throw new ReadGrantRefusedError('the grant has expired: ask the API again');
  const target = pathTarget(rawPath);
  if (target?.vault !== grant.entry.vault || target.key !== grant.entry.key)
    throw new ReadGrantRefusedError('the grant is for another object');
  return grant;
}

/** The edge copies a grant offers, as a read takes them from `slices` (the pool's units). */
export function grantedEdgeSlices(edge: GrantedEdge, slices: Pick<SliceStore, 'get'>): EdgeSlices {
  const placements = edge.segments.map(
    (pillars) => new Map(pillars.map(({ pillar, unit, key }) => [pillar, { unit, key }])),
  );
  return {
    revision: edge.revision,
    slices,
    placement: (segment) => {
      const placed = placements[segment];
      return placed && placed.size > 0 ? placed : undefined;
    },
    served: { edge: 0, home: 0 },
  };
}

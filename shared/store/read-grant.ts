/**
 * Read grants: how the API hands a read too large for its payload limit to the reader function
 * (a Lambda function URL that streams). The API answers 307 with a Location on the reader that
 * carries a grant token: 256 random bits naming a stored grant, which holds the vault, the key
 * and the manifest of the revision the API looked up, and expires soon. The reader serves only
 * a token it finds, for the path it was given, before its expiry: a guessed, altered or expired
 * URL is refused (403), and the reader needs no secret and reads the same revision the API saw.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { ReadGrantRefusedError } from '../errors.ts';
import type { IndexEntry } from './ports.ts';

/**
 * How long a Location stays good: long enough to follow a redirect, well within the time a
 * replaced revision's slices stay readable (GARBAGE_GRACE_MS), so a granted revision is there.
 */
export const READ_GRANT_LIFETIME_MS = 30_000;

export interface ReadGrant {
  token: string;
  /** The manifest of the revision granted. */
  entry: IndexEntry;
  /** Epoch ms. */
  expiresAt: number;
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

/** Grants a read of `entry`'s revision and returns where the reader at `readerUrl` serves it. */
export async function grantRead(
  deps: ReadGrantDeps,
  readerUrl: string,
  entry: IndexEntry,
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await deps.grants.put({ token, entry, expiresAt: deps.clock.now() + READ_GRANT_LIFETIME_MS });
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
 * The manifest a reader request may be served: its token's grant, when the grant is there,
 * unexpired, and for the path asked.
 * @throws ReadGrantRefusedError
 */
export async function redeemRead(
  deps: ReadGrantDeps,
  rawPath: string,
  token: string | undefined,
): Promise<IndexEntry> {
  if (token === undefined || !TOKEN.test(token))
    throw new ReadGrantRefusedError("the URL carries no grant (follow the API's 307 Location)");
  const grant = await deps.grants.get(token);
  if (!grant) throw new ReadGrantRefusedError('the grant is unknown or gone: ask the API again');
  if (grant.expiresAt <= deps.clock.now())
    throw new ReadGrantRefusedError('the grant has expired: ask the API again');
  const target = pathTarget(rawPath);
  if (target?.vault !== grant.entry.vault || target.key !== grant.entry.key)
    throw new ReadGrantRefusedError('the grant is for another object');
  return grant.entry;
}

/**
 * Listings as S3 users reach for them: keys under a prefix in key order, a page at a time, and
 * with `delimiter=/` the keys below the next `/` rolled up into one common prefix each (the
 * tree's directories). The cursor (listing-cursor.ts) is the last key a page covered: a common
 * prefix covers every key under it, so the next page starts past them all.
 */
import { z } from 'zod';
import { InvalidParameterError } from '../errors.ts';
import { decimalInteger, parseWith, strictObject } from '../validate.ts';
import { decodeListingCursor, encodeListingCursor } from './listing-cursor.ts';
import { MAX_KEY_BYTES, validateKeyPrefix } from './object-key.ts';
import type { IndexEntry, ObjectIndex } from './ports.ts';

/** Entries and common prefixes one page holds at most, and by default. */
export const MAX_LISTING_LIMIT = 1000;

/** Index calls one delimited page makes at most; past them it ends short, with a cursor. */
const MAX_INDEX_CALLS = 20;

export interface ListingQuery {
  prefix: string;
  delimiter?: '/';
  limit: number;
  /** Empty, as absent: the first page. */
  cursor?: string;
}

export interface Listing {
  objects: IndexEntry[];
  /** With a delimiter: each `prefix + ... + "/"` that has keys below it, once, in key order. */
  commonPrefixes: string[];
  /** Present exactly when more may follow. */
  cursor?: string;
}

/** The query string of `GET /vaults/{vault}/objects`; any other parameter is refused. */
export const listingQuerySchema = strictObject(
  {
    prefix: z.string().optional(),
    delimiter: z.literal('/', 'must be "/" (keys form a "/"-separated tree)').optional(),
    limit: decimalInteger(1, MAX_LISTING_LIMIT).optional(),
    cursor: z.string().optional(),
  },
  'a listing parameter',
);

/**
 * A listing's query string. @throws InvalidParameterError naming the parameter: an unknown one,
 * a bad limit, a delimiter other than `/`, or a prefix past the key rules.
 */
export function parseListingQuery(query: Record<string, string | undefined>): ListingQuery {
  // Named as sent (the schema's message would quote a name such as `max-keys` as a path).
  const unknown = Object.keys(query).find((name) => !(name in listingQuerySchema.shape));
  if (unknown !== undefined)
    throw new InvalidParameterError(
      unknown,
      `is not a listing parameter (known: ${Object.keys(listingQuerySchema.shape).join(', ')})`,
    );
  const q = parseWith(listingQuerySchema, query, { name: 'query' });
  return {
    prefix: validateKeyPrefix(q.prefix),
    delimiter: q.delimiter,
    limit: q.limit ?? MAX_LISTING_LIMIT,
    cursor: q.cursor || undefined,
  };
}

/**
 * The greatest key (as the index orders keys: by UTF-8 bytes) that starts with `commonPrefix`
 * and fits a key's 1024 bytes: a cursor there continues past every key under the prefix, but
 * for a key that ends in a partial run of U+10FFFF, which the page after meets as under a
 * prefix already listed (and skips, see `lastCommonPrefix`).
 */
function pastPrefix(commonPrefix: string): string {
  const room = MAX_KEY_BYTES - Buffer.byteLength(commonPrefix);
  return commonPrefix + '\u{10FFFF}'.repeat(Math.floor(room / 4));
}

/** The common prefix `key` rolls up into under `prefix`, if it has a `/` past the prefix. */
function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

/**
 * Lists `vault` as `query` asks: up to `limit` entries and common prefixes together, as S3
 * counts them.
 * @throws InvalidParameterError on `cursor` when no listing under the prefix returned it.
 */
export async function listObjects(
  index: ObjectIndex,
  vault: string,
  query: ListingQuery,
): Promise<Listing> {
  const { prefix, delimiter, limit } = query;
  if (!delimiter) {
    const page = await index.list(vault, prefix, limit, query.cursor);
    return { objects: page.entries, commonPrefixes: [], cursor: page.cursor };
  }
  const objects: IndexEntry[] = [];
  const commonPrefixes: string[] = [];
  let cursor = query.cursor;
  // The page before may have ended past a common prefix it listed (its cursor is then that
  // prefix's `pastPrefix`): its keys are covered. A cursor inside a common prefix that is not
  // its end (the index's own, where its read budget ran out on deleted keys) lists nothing of
  // it yet, and the prefix is still to come.
  let last: string | undefined;
  if (cursor) {
    const after = decodeListingCursor(cursor, prefix);
    const common = commonPrefixOf(after, prefix, delimiter);
    if (common !== undefined && after === pastPrefix(common)) last = common;
  }
  for (let calls = 0; calls < MAX_INDEX_CALLS; calls++) {
    const page = await index.list(
      vault,
      prefix,
      limit - objects.length - commonPrefixes.length,
      cursor,
    );
    let skipped = false;
    for (const entry of page.entries) {
      const common = commonPrefixOf(entry.key, prefix, delimiter);
      if (common === undefined) {
        objects.push(entry);
        cursor = encodeListingCursor(entry.key);
      } else if (common !== last) {
        commonPrefixes.push(common);
        last = common;
        cursor = encodeListingCursor(pastPrefix(common));
        // The rest of this page may all be under it: ask the index again, past them.
        skipped = true;
      } else {
        continue;
      }
      if (objects.length + commonPrefixes.length === limit)
        return { objects, commonPrefixes, cursor };
      if (skipped) break;
    }
    if (!skipped) {
      if (page.cursor === undefined) return { objects, commonPrefixes };
      cursor = page.cursor;
    }
  }
  return { objects, commonPrefixes, cursor };
}

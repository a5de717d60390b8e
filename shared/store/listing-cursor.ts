/**
 * A listing's cursor: base64url of the JSON of the last key listed. Every ObjectIndex writes and
 * reads it here, so the checks a cursor passes are the same in every adapter and no caller
 * decodes it again.
 */
import { InvalidParameterError } from '../errors.ts';
import { MAX_KEY_BYTES } from './object-key.ts';

/**
 * The largest cursor a listing returns: base64url of the JSON of a 1024-byte key, every byte of
 * which JSON could escape as two (`\"`). Anything longer is refused before it is decoded.
 */
const MAX_CURSOR_CHARS = Math.ceil(((2 + 2 * MAX_KEY_BYTES) * 4) / 3);
const NOT_A_CURSOR = 'is not a cursor this listing returned';

/** The cursor of a page whose last key is `key`. */
export function encodeListingCursor(key: string): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * The key a cursor of a listing under `prefix` continues after. A key is at most 1024 bytes and
 * starts with the prefix; a longer one would make DynamoDB refuse the query's start key (a sort
 * key is at most 1024 bytes) with an error of its own.
 * @throws InvalidParameterError on `cursor`.
 */
export function decodeListingCursor(cursor: string, prefix: string): string {
  if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]*$/.test(cursor))
    throw new InvalidParameterError('cursor', NOT_A_CURSOR);
  let after: unknown;
  try {
    after = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    after = undefined;
  }
  if (
    typeof after !== 'string' ||
    after.length === 0 ||
    !after.isWellFormed() ||
    Buffer.byteLength(after) > MAX_KEY_BYTES ||
    !after.startsWith(prefix)
  )
    throw new InvalidParameterError('cursor', NOT_A_CURSOR);
  return after;
}

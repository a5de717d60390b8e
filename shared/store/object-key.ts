/**
 * Object keys: UTF-8 paths of 1 to 1024 bytes, `/`-separated, forming the tree that listeners
 * watch. A key is kept in Unicode NFC, so one name spelt two ways (`café` composed or with a
 * combining accent) is one key. A key that could escape or alias another path, or that shows
 * as something other than it is, is refused.
 */
import { z } from 'zod';
import { InvalidParameterError } from '../errors.ts';
import { parseWith } from '../validate.ts';

export const MAX_KEY_BYTES = 1024;

/**
 * The order of keys as DynamoDB and S3 keep them: by their UTF-8 bytes. JavaScript's `<` on
 * strings compares UTF-16 code units, which differs for characters past U+FFFF (emoji) against
 * those of U+E000-U+FFFF: a resume cursor compared so skips or repeats keys.
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// Unicode category Cc: the C0 and C1 control characters, and DEL.
const CONTROL = /\p{Cc}/u;
// Bidi_Control (U+061C, U+200E-F, U+202A-E, U+2066-9): they reorder how a key is displayed, so
// `evil\u202Etxt.exe` reads as `evilexe.txt` in a listing.
const BIDI = /\p{Bidi_Control}/u;

/** `text` in NFC when it is well-formed; a lone surrogate is left for the rule that refuses it. */
function nfc(text: string): string {
  return text.isWellFormed() ? text.normalize('NFC') : text;
}

/**
 * An object key, as NFC. Each rule is its own check, in order, so a key breaking several is
 * refused for the first: empty, invalid UTF-8 (lone surrogates), too long (in NFC, as stored),
 * control characters, bidi controls, a leading `/`, empty segments, `.` or `..` segments. A
 * trailing `/` is allowed: it names a folder, as in S3.
 */
export const objectKeySchema = z
  .string({ error: 'must not be empty' })
  .overwrite(nfc)
  .superRefine((key, ctx) => {
    const refuse = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (key.length === 0) return refuse('must not be empty');
    if (!key.isWellFormed()) return refuse('must be valid UTF-8');
    const bytes = Buffer.byteLength(key, 'utf8');
    if (bytes > MAX_KEY_BYTES)
      return refuse(`must be at most ${MAX_KEY_BYTES} bytes of UTF-8, got ${bytes}`);
    if (CONTROL.test(key)) return refuse('must not contain control characters');
    if (BIDI.test(key)) return refuse('must not contain bidirectional controls (U+202E and kin)');
    if (key.startsWith('/')) return refuse('must not start with "/"');
    if (key.includes('//')) return refuse('must not contain empty path segments ("//")');
    const dots = key.split('/').find((segment) => segment === '..' || segment === '.');
    if (dots !== undefined) refuse(`must not contain "${dots}" path segments`);
  });

/**
 * Returns `key` in NFC when valid. @throws InvalidParameterError naming `field` and the rule.
 */
export function validateKey(key: unknown, field = 'key'): string {
  return parseWith(objectKeySchema, key, { name: field });
}

/**
 * A listing prefix, in NFC like the keys it is matched against; empty lists everything. Only
 * its length is limited: a prefix no key can have lists nothing, which is the right answer.
 * @throws InvalidParameterError naming `field`.
 */
export function validateKeyPrefix(prefix: unknown, field = 'prefix'): string {
  if (prefix === undefined) return '';
  if (typeof prefix !== 'string') throw new InvalidParameterError(field, 'must be a string');
  if (!prefix.isWellFormed()) throw new InvalidParameterError(field, 'must be valid UTF-8');
  const normalized = nfc(prefix);
  const bytes = Buffer.byteLength(normalized, 'utf8');
  if (bytes > MAX_KEY_BYTES)
    throw new InvalidParameterError(
      field,
      `must be at most ${MAX_KEY_BYTES} bytes of UTF-8, got ${bytes}`,
    );
  return normalized;
}

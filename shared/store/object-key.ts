/**
 * Object keys: UTF-8 paths of 1 to 1024 bytes, `/`-separated, forming the tree that listeners
 * watch. A key that could escape or alias another path is refused.
 */
import { z } from 'zod';
import { parseWith } from '../validate.ts';

export const MAX_KEY_BYTES = 1024;

// Unicode category Cc: the C0 and C1 control characters, and DEL.
const CONTROL = /\p{Cc}/u;

/**
 * An object key. Each rule is its own check, in order, so a key breaking several is refused
 * for the first: empty, invalid UTF-8 (lone surrogates), too long, control characters, `.` or
 * `..` segments.
 */
export const objectKeySchema = z.string({ error: 'must not be empty' }).superRefine((key, ctx) => {
  const refuse = (message: string) => ctx.addIssue({ code: 'custom', message });
  if (key.length === 0) return refuse('must not be empty');
  if (!key.isWellFormed()) return refuse('must be valid UTF-8');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES)
    return refuse(`must be at most ${MAX_KEY_BYTES} bytes of UTF-8, got ${bytes}`);
  if (CONTROL.test(key)) return refuse('must not contain control characters');
  const dots = key.split('/').find((segment) => segment === '..' || segment === '.');
  if (dots !== undefined) refuse(`must not contain "${dots}" path segments`);
});

/** Returns `key` when valid. @throws InvalidParameterError naming `field` and the rule. */
export function validateKey(key: unknown, field = 'key'): string {
  return parseWith(objectKeySchema, key, { name: field });
}

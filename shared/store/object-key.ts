/**
 * Object keys: UTF-8 paths of 1 to 1024 bytes, `/`-separated, forming the tree that listeners
 * watch. A key that could escape or alias another path is refused.
 */
import { InvalidParameterError } from '../errors.ts';

export const MAX_KEY_BYTES = 1024;

// Unicode category Cc: the C0 and C1 control characters, and DEL.
const CONTROL = /\p{Cc}/u;

/**
 * Returns `key` when valid.
 * @throws InvalidParameterError naming the rule: empty, too long, control characters, `.` or
 *   `..` segments, or invalid UTF-8 (lone surrogates).
 */
export function validateKey(key: unknown, field = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidParameterError(field, 'must not be empty');
  }
  if (!key.isWellFormed()) throw new InvalidParameterError(field, 'must be valid UTF-8');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new InvalidParameterError(
      field,
      `must be at most ${MAX_KEY_BYTES} bytes of UTF-8, got ${bytes}`,
    );
  }
  if (CONTROL.test(key))
    throw new InvalidParameterError(field, 'must not contain control characters');
  for (const segment of key.split('/')) {
    if (segment === '..' || segment === '.') {
      throw new InvalidParameterError(field, `must not contain "${segment}" path segments`);
    }
  }
  return key;
}

/**
 * Listen paths: an object key (exact), a directory ending in `/`, or `""` for the whole vault.
 * They form the tree whose nodes the participant structure is keyed by.
 */
import { z } from 'zod';

const MAX_PATH_BYTES = 1024;
// Unicode category Cc: the C0 and C1 control characters, and DEL.
const CONTROL = /\p{Cc}/u;

/** A listen path, each rule its own check so the first one broken is the one reported. */
export const listenPathSchema = z.string({ error: 'must be a string' }).superRefine((path, ctx) => {
  const refuse = (message: string) => ctx.addIssue({ code: 'custom', message });
  if (!path.isWellFormed()) return refuse('must be valid UTF-8');
  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > MAX_PATH_BYTES)
    return refuse(`must be at most ${MAX_PATH_BYTES} bytes of UTF-8, got ${bytes}`);
  if (CONTROL.test(path)) return refuse('must not contain control characters');
  if (path.startsWith('/')) return refuse('must not start with "/" ("" is the whole vault)');
  const dots = path.split('/').find((segment) => segment === '..' || segment === '.');
  if (dots !== undefined) refuse(`must not contain "${dots}" path segments`);
});

/** Whether `path` names a directory (or the whole vault) rather than one key. */
export function isDirectory(path: string): boolean {
  return path === '' || path.endsWith('/');
}

/**
 * The paths whose listeners an event on `key` may concern, deepest first: the key itself and
 * each ancestor directory up to the whole vault. `a/b/c.txt` gives `a/b/c.txt`, `a/b/`, `a/`, `""`.
 */
export function pathsOf(key: string): string[] {
  const paths = [key];
  for (let i = key.lastIndexOf('/', key.length - 2); i >= 0; i = key.lastIndexOf('/', i - 1)) {
    paths.push(key.slice(0, i + 1));
    if (i === 0) break;
  }
  paths.push('');
  return paths;
}

/**
 * Whether a listener on `path` hears `key`: the key itself; a directory's direct children; any
 * key below it when `recursive`.
 */
export function hears(path: string, recursive: boolean, key: string): boolean {
  if (!isDirectory(path)) return path === key;
  if (!key.startsWith(path) || key === path) return false;
  return recursive || !key.slice(path.length, -1).includes('/');
}

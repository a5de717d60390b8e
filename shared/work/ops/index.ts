/** The built-in ops: one file each; add one by registering it here. */
import { OpRegistry } from '../op.ts';
import { compress } from './compress.ts';
import { concat } from './concat.ts';
import { decompress } from './decompress.ts';
import { digest } from './digest.ts';
import { grep } from './grep.ts';

/** A registry with every built-in op; callers may register more. */
export function builtInOps(): OpRegistry {
  return new OpRegistry()
    .register('digest', digest)
    .register('compress', compress)
    .register('decompress', decompress)
    .register('grep', grep)
    .register('concat', concat);
}

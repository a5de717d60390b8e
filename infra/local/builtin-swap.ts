/**
 * A builtin module's export replaced for the length of one synchronous call. fauxqs imports what
 * it uses from Node's builtins by name (`writeFileSync` from `node:fs`, `createHash` from
 * `node:crypto`) and offers no hook for its writes or its hashes; its store and persistence
 * methods are synchronous, so for the length of one such call the export can be another
 * function, and no other code runs meanwhile to see it. ES modules see builtins' exports
 * through `syncBuiltinESMExports`. Used by piecewise-writes.ts and s3-digests.ts.
 */
import { syncBuiltinESMExports } from 'node:module';

/** Runs `f` with `module[name]` set to `replacement`, then puts back what was there. */
export function withBuiltinExport<M extends object, K extends keyof M, T>(
  module: M,
  name: K,
  replacement: M[K],
  f: () => T,
): T {
  const previous = module[name];
  module[name] = replacement;
  syncBuiltinESMExports();
  try {
    return f();
  } finally {
    module[name] = previous;
    syncBuiltinESMExports();
  }
}

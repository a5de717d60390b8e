/**
 * Builds the web console (console/, Preact through Vite) into dist/console, which
 * functions/console.ts serves at /console. Runs in `npm ci`'s lifecycle (`prepare`), so nothing
 * built is committed.
 *
 *   node infra/build-console.ts
 */
import { resolve } from 'node:path';
import { build } from 'vite';

const ROOT = resolve(import.meta.dirname, '..');
export const CONSOLE_DIST = resolve(ROOT, 'dist', 'console');

export async function buildConsole(): Promise<string> {
  await build({ configFile: resolve(ROOT, 'console', 'vite.config.ts') });
  return CONSOLE_DIST;
}

if (import.meta.main) {
  process.stdout.write(`built ${await buildConsole()}\n`);
}

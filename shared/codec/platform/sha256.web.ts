/**
 * A streaming SHA-256 in a browser: WebCrypto hashes whole messages only, so an object hashed as
 * it streams takes hash-wasm's (WebAssembly). In Chromium 156 the pure-JS @noble/hashes took
 * 0.66 s of the page's thread per 64 MiB, more than half of a dispersal's busy time. The
 * console's build takes this file for `#codec/sha256` (the package's `browser` condition);
 * Node takes sha256.node.ts.
 */
import { createSHA256 } from 'hash-wasm';
import type { Sha256 } from './sha256.node.ts';

export type { Sha256 };

export async function createSha256(): Promise<Sha256> {
  const hash = await createSHA256();
  hash.init();
  return {
    update: (bytes) => void hash.update(bytes),
    hex: () => hash.digest('hex'),
  };
}

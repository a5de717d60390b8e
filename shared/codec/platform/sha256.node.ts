/**
 * A streaming SHA-256 on Node (node:crypto, with the CPU's SHA extensions). The package's
 * `#codec/sha256` import names this file everywhere but in a browser build (sha256.web.ts).
 * Made asynchronously because the browser's is a WebAssembly instance.
 */
import { createHash } from 'node:crypto';

/** A hash fed piece by piece; `hex` ends it. */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  hex(): string;
}

export async function createSha256(): Promise<Sha256> {
  const hash = createHash('sha256');
  return {
    update: (bytes) => void hash.update(bytes),
    hex: () => hash.digest('hex'),
  };
}

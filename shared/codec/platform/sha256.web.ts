/**
 * A streaming SHA-256 in a browser: WebCrypto hashes whole messages only, so an object hashed
 * as it streams takes @noble/hashes' (audited, no dependencies). The console's build takes this
 * file for `#codec/sha256` (the package's `browser` condition); Node takes sha256.node.ts.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Sha256 } from './sha256.node.ts';

export type { Sha256 };

export function createSha256(): Sha256 {
  const hash = sha256.create();
  return {
    update: (bytes) => void hash.update(bytes),
    hex: () => bytesToHex(hash.digest()),
  };
}

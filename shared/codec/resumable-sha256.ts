/**
 * A SHA-256 whose running state can be saved and taken up again by another process: a
 * dispersal that outlives one Lambda invocation hashes with it, stops at a segment boundary,
 * and the next invocation goes on from the saved state. node:crypto's hash cannot be saved, so
 * this is hash-wasm's (WebAssembly; about a sixth of node's speed on this machine, 283 against
 * 1720 MiB/s), used only where a write may have to stop.
 */
import { createSHA256, type IHasher } from 'hash-wasm';
import type { Sha256 } from '#codec/sha256';
import { InvalidParameterError } from '../errors.ts';

export interface ResumableSha256 extends Sha256 {
  /** The state after every byte so far, base64; `createResumableSha256(state)` goes on from it. */
  save(): string;
}

/**
 * A new hash, or one that goes on from `state` (a `save()`).
 * @throws InvalidParameterError on `sha256State` when `state` is not a saved SHA-256 state.
 */
export async function createResumableSha256(state?: string): Promise<ResumableSha256> {
  const hash: IHasher = await createSHA256();
  hash.init();
  if (state !== undefined) {
    try {
      hash.load(Buffer.from(state, 'base64'));
    } catch (err) {
      throw new InvalidParameterError(
        'sha256State',
        `is not a saved SHA-256 state (${(err as Error).message})`,
      );
    }
  }
  return {
    update: (bytes) => void hash.update(bytes),
    hex: () => hash.digest('hex'),
    save: () => Buffer.from(hash.save()).toString('base64'),
  };
}

/**
 * The small interfaces the domain speaks to. `shared/aws/` implements them with the AWS SDK;
 * nothing else in `shared/` imports an SDK.
 */
import type { Vault } from './vault.ts';

/** One slice object as a storage unit holds it. */
export interface StoredSlice {
  key: string;
  size: number;
  lastModified?: Date;
}

/** The pool's storage units: one bucket each, addressed by unit index. */
export interface SliceStore {
  /**
   * Stores `body` at `key` on `unit`. `crc32c` (base64, as S3's `x-amz-checksum-crc32c`) lets
   * the store verify the bytes on arrival; a mismatch is an error and nothing is stored.
   */
  put(unit: number, key: string, body: Uint8Array, crc32c: string): Promise<void>;
  /** The whole slice object. @throws SliceNotFoundError */
  get(unit: number, key: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** Size and stored CRC32C of a slice object, or undefined when absent. */
  head(unit: number, key: string): Promise<{ size: number; crc32c?: string } | undefined>;
  /** Every slice object under `prefix` on `unit`. */
  list(unit: number, prefix: string): AsyncIterable<StoredSlice>;
  /** Deletes the keys on `unit`; absent keys are not an error. */
  delete(unit: number, keys: string[]): Promise<void>;
}

/** Vault configurations. */
export interface VaultStore {
  /** @throws VaultExistsError when the name is taken. */
  create(vault: Vault): Promise<void>;
  /** @throws VaultNotFoundError */
  get(name: string): Promise<Vault>;
  list(): Promise<Vault[]>;
}

/** Keeps each unit's subscription filter policy equal to the addresses it serves. */
export interface SubscriptionManager {
  /** Sets unit `unit`'s subscribed addresses. Idempotent. */
  setAddresses(unit: number, addresses: string[]): Promise<void>;
}

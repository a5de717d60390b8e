/**
 * SliceStore in memory, as S3SliceStore behaves on S3: one bucket per unit of the pool, PUTs
 * checked against their CRC-32 on arrival, create-only PUTs, keys listed in S3's order.
 */
import { type Clock, systemClock } from '../../../shared/clock.ts';
import { s3Crc32 } from '../../../shared/codec/index.ts';
import { SliceNotFoundError } from '../../../shared/errors.ts';
import type { SliceStore, StoredSlice } from '../../../shared/store/index.ts';
import { MemoryBucket } from './bucket.ts';

/** What S3 answers a PUT whose body does not match its `x-amz-checksum-crc32`. */
export class BadDigestError extends Error {
  override name = 'BadDigest';
}

export class MemorySliceStore implements SliceStore {
  private readonly buckets: MemoryBucket[];

  /** A pool of `units` storage units, numbered from 0; `clock` dates what is stored. */
  constructor(units: number, clock: Clock = systemClock) {
    this.buckets = Array.from({ length: units }, () => new MemoryBucket(clock));
  }

  private bucket(unit: number): MemoryBucket {
    const bucket = this.buckets[unit];
    if (bucket === undefined)
      throw new RangeError(`unit ${unit} is not in the pool of ${this.buckets.length}`);
    return bucket;
  }

  /** The bucket of `unit`, refusing `body` unless it matches `crc32`, as S3 does on arrival. */
  private checked(unit: number, key: string, body: Uint8Array, crc32: string): MemoryBucket {
    const bucket = this.bucket(unit);
    if (s3Crc32(body) !== crc32) {
      throw new BadDigestError(`unit ${unit}: the CRC32 sent for ${key} does not match its bytes`);
    }
    return bucket;
  }

  async put(unit: number, key: string, body: Uint8Array, crc32: string): Promise<void> {
    this.checked(unit, key, body, crc32).put(key, body, crc32);
  }

  async create(
    unit: number,
    key: string,
    body: Uint8Array,
    crc32: string,
  ): Promise<'created' | 'exists'> {
    const bucket = this.checked(unit, key, body, crc32);
    if (bucket.has(key)) return 'exists';
    bucket.put(key, body, crc32);
    return 'created';
  }

  async get(unit: number, key: string, signal?: AbortSignal): Promise<Uint8Array> {
    const bucket = this.bucket(unit);
    signal?.throwIfAborted();
    const found = bucket.get(key);
    if (!found) throw new SliceNotFoundError(unit, key);
    return found.body;
  }

  async head(unit: number, key: string): Promise<{ size: number; crc32?: string } | undefined> {
    const found = this.bucket(unit).get(key);
    return found && { size: found.body.byteLength, crc32: found.crc32 };
  }

  async *list(unit: number, prefix: string, startAfter?: string): AsyncIterable<StoredSlice> {
    const bucket = this.bucket(unit);
    for (const key of bucket.keys(prefix, startAfter)) {
      const found = bucket.get(key);
      // Deleted since the listing began: S3's later pages would not have it either.
      if (found) yield { key, size: found.body.byteLength, lastModified: found.lastModified };
    }
  }

  async delete(unit: number, keys: string[]): Promise<void> {
    const bucket = this.bucket(unit);
    for (const key of keys) bucket.delete(key);
  }
}

/** An S3 bucket in memory: objects by key, listed in S3's order (UTF-8 bytes). */
import type { Clock } from '../../../shared/clock.ts';
import { byUtf8 } from './documents.ts';

export interface MemoryObject {
  body: Uint8Array;
  /** CRC-32 as S3 stores it with the object (`x-amz-checksum-crc32`), when one was sent. */
  crc32?: string;
  lastModified: Date;
}

export class MemoryBucket {
  private readonly objects = new Map<string, MemoryObject>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Stores a copy of `body`, replacing whatever was at `key`. */
  put(key: string, body: Uint8Array, crc32?: string): void {
    // A copy, as S3 keeps: Buffer's `slice` is a view, and a writer reuses its slices' memory.
    const stored: MemoryObject = { body: new Uint8Array(body), lastModified: this.clock.date() };
    if (crc32 !== undefined) stored.crc32 = crc32;
    this.objects.set(key, stored);
  }

  /** The object at `key` (its body a copy), or undefined. */
  get(key: string): MemoryObject | undefined {
    const found = this.objects.get(key);
    return found && { ...found, body: new Uint8Array(found.body) };
  }

  has(key: string): boolean {
    return this.objects.has(key);
  }

  delete(key: string): void {
    this.objects.delete(key);
  }

  /** Keys under `prefix` after `startAfter`, in key order, as they are now. */
  keys(prefix: string, startAfter?: string): string[] {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(prefix) && (!startAfter || byUtf8(k, startAfter) > 0))
      .sort(byUtf8);
  }
}

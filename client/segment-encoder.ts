/**
 * The client's side of encoding, for client-side dispersal (uplink.ts): the source cut into
 * segments in one reused buffer, and each segment encoded into slices whose buffers are reused
 * once their slices are placed, so memory holds a bounded number of segments whatever the size.
 * The bytes are the server writer's, byte for byte (shared/codec).
 */
import {
  type Codec,
  encodeSliceInPlace,
  type Sha256,
  shardSize,
  sliceHeaderLength,
  sliceNamesOf,
} from '../shared/codec/index.ts';

/**
 * Cuts `source` into segments in `buffer`, reused: yields each segment's length once the buffer
 * holds it (full ones, then the last, shorter; an empty source gives one empty segment). The
 * caller encodes it before asking for the next.
 */
export async function* cutInto(source: AsyncIterable<Uint8Array>, buffer: Uint8Array) {
  let filled = 0;
  let cut = 0;
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(buffer.length - filled, chunk.length - at);
      buffer.set(chunk.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === buffer.length) {
        yield filled;
        cut++;
        filled = 0;
      }
    }
  }
  if (filled > 0 || cut === 0) yield filled;
}

/**
 * Encodes segments into a fixed set of slice buffers, so the client's memory is what it holds
 * in flight and no more: a slice is written in place (payload copied or computed into its
 * buffer, then its header), and its buffer comes back with `release` once placed. Encoding with
 * fresh buffers left the freeing to the collector, which lagged the uploads on a loaded machine.
 * The format is the server's own (`encodeSliceInPlace` beside `encodeSlice` in shared/codec).
 */
export class SegmentEncoder {
  /** The segment being cut, reused for each. */
  readonly segment: Uint8Array;
  private readonly codec: Codec;
  private readonly name: ReturnType<typeof sliceNamesOf>;
  private readonly headerLength: number;
  private readonly width: number;
  private readonly free: Uint8Array[][] = [];
  private readonly waiting: Array<() => void> = [];
  private made = 0;
  private readonly slots: number;
  private readonly hash: Sha256;
  private size = 0;
  private index = 0;

  constructor(
    of: { vault: string; objectId: string; revision: string; width: number; segmentSize: number },
    codec: Codec,
    slots: number,
    /** The object's running hash (`await createSha256()`). */
    hash: Sha256,
  ) {
    this.hash = hash;
    this.segment = Buffer.allocUnsafe(of.segmentSize);
    this.codec = codec;
    this.name = sliceNamesOf(of);
    // Slice names have fixed-width segment and pillar numbers: every header has this length.
    this.headerLength = sliceHeaderLength(this.name(0, 0));
    this.width = of.width;
    this.slots = slots;
  }

  /** A free set of slice buffers, once one is given back if all are in use. */
  private async take(): Promise<Uint8Array[]> {
    const free = this.free.pop();
    if (free) return free;
    if (this.made < this.slots) {
      this.made++;
      const bytes = this.headerLength + shardSize(this.segment.length, this.codec.dataShards);
      return Array.from({ length: this.width }, () => Buffer.allocUnsafe(bytes));
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.take();
  }

  /** Gives back the buffers of one segment's slices. */
  release(slices: Uint8Array[]): void {
    const whole = slices.map(
      (s) => new Uint8Array(s.buffer, s.byteOffset, s.buffer.byteLength - s.byteOffset),
    );
    this.free.push(whole);
    this.waiting.shift()?.();
  }

  /** The index the next segment counted or encoded gets. */
  get next(): number {
    return this.index;
  }

  /**
   * Counts the `length` bytes at the start of `segment` as the next segment, in the object's
   * size and hash, without encoding them: a resume holds such a segment to encode later
   * (`encodeAs`). @returns its index
   */
  count(length: number): number {
    const index = this.index++;
    this.hash.update(this.segment.subarray(0, length));
    this.size += length;
    return index;
  }

  /** Encodes the `length` bytes at the start of `segment` as the next segment's slices. */
  async encode(
    length: number,
  ): Promise<{ index: number; slices: Uint8Array[]; buffers: Uint8Array[] }> {
    const index = this.index++;
    const encoded = await this.encodeAs(index, length);
    this.hash.update(this.segment.subarray(0, length));
    this.size += length;
    return { index, ...encoded };
  }

  /**
   * Encodes the `length` bytes at the start of `segment` as segment `index`'s slices, outside
   * the object's running count and hash: a resume checks a done segment with it.
   */
  async encodeAs(
    index: number,
    length: number,
  ): Promise<{ slices: Uint8Array[]; buffers: Uint8Array[] }> {
    const buffers = await this.take();
    const k = this.codec.dataShards;
    const shard = shardSize(length, k);
    const slices = buffers.map((b) => b.subarray(0, this.headerLength + shard));
    const payloads = slices.map((s) => s.subarray(this.headerLength));
    for (let i = 0; i < k; i++) {
      const from = Math.min(i * shard, length);
      const to = Math.min(from + shard, length);
      const payload = payloads[i] as Uint8Array;
      payload.set(this.segment.subarray(from, to));
      // Only the last data shard of a short segment runs past its end: zero padding.
      payload.fill(0, to - from);
    }
    this.codec.encode(payloads);
    for (const [pillar, slice] of slices.entries())
      encodeSliceInPlace(
        {
          name: this.name(index, pillar),
          dataShards: k,
          parityShards: this.codec.parityShards,
          segmentLength: length,
        },
        slice,
      );
    return { slices, buffers };
  }

  /** What was encoded: as the server's writer records it. */
  summary(): { size: number; sha256: string; segments: number } {
    return { size: this.size, sha256: this.hash.hex(), segments: this.index };
  }
}

/**
 * Streaming dispersal: a byte stream in, one encoded segment (n slices) at a time out, and
 * back. Memory stays bounded by one segment and its slices whatever the object's size, since
 * the generators only pull the next chunk once the consumer has taken the last segment.
 */
import { createSha256, type Sha256 } from '#codec/sha256';
import { InvalidSliceError } from '../errors.ts';
import type { Codec } from './reed-solomon.ts';
import { decodeSegment, shardSize } from './segment.ts';
import { decodeSlice, encodeSliceInPlace, sliceHeaderLength } from './slice-header.ts';
import type { SliceName } from './slice-name.ts';

/** The first buffer a segment is cut into, before it has to grow. */
const FIRST_SEGMENT_BUFFER = 64 * 1024;

/**
 * A buffer of at least `need` bytes (at most `max`) that starts with the `filled` bytes of
 * `buffer`: `buffer` itself when it is large enough, else a buffer twice as large (or `max`
 * at once when `full`) with those bytes copied in.
 */
function room(
  buffer: Buffer | undefined,
  filled: number,
  need: number,
  max: number,
  full: boolean,
): Buffer {
  if (buffer !== undefined && buffer.length >= need) return buffer;
  const size = full
    ? max
    : Math.min(max, Math.max(need, 2 * (buffer?.length ?? 0), FIRST_SEGMENT_BUFFER));
  const grown = Buffer.allocUnsafe(size);
  if (buffer !== undefined && filled > 0) buffer.copy(grown, 0, 0, filled);
  return grown;
}

/**
 * Cuts `source` into segments of `segmentSize` bytes, the last one shorter. An empty stream
 * gives one empty segment, so every object has at least one. With `reuse`, the consumer must be
 * done with a segment before it asks for the next (an encoder that copies it into slices is):
 * every segment is then cut into the same buffer, and a segment that lies whole inside one
 * chunk is handed over where it lies, with no copy at all.
 *
 * A segment's buffer is only as large as what it holds, doubling as it fills: a 4 KiB object
 * does not take a buffer of the vault's segment size (8 MiB), which cost a sandbox writing small
 * objects a full collection every few dozen writes. Once one segment came full, the next buffer
 * is full-sized at once.
 */
export async function* cutSegments(
  source: AsyncIterable<Uint8Array>,
  segmentSize: number,
  options: {
    reuse?: boolean;
    /** The stream goes on with an object already begun: an empty one gives no segment. */
    continues?: boolean;
  } = {},
): AsyncGenerator<Uint8Array> {
  let current: Buffer | undefined;
  let filled = 0;
  let emitted = 0;
  const empty = options.continues ? () => false : () => emitted === 0;
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      if (options.reuse && filled === 0 && chunk.length - at >= segmentSize) {
        // Read where it lies: the chunk stays as it is until the next one is pulled, and by
        // then the consumer is done with this segment.
        yield chunk.subarray(at, at + segmentSize);
        emitted++;
        at += segmentSize;
        continue;
      }
      const n = Math.min(segmentSize - filled, chunk.length - at);
      current = room(current, filled, filled + n, segmentSize, emitted > 0);
      current.set(chunk.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === segmentSize) {
        yield current;
        emitted++;
        if (!options.reuse) current = undefined;
        filled = 0;
      }
    }
  }
  if (filled > 0 || empty()) yield (current ?? Buffer.alloc(0)).subarray(0, filled);
}

/**
 * The n slices of one segment, each allocated once at its full size (header, then payload):
 * the data shards are copied from the segment into their slices, and the parity is computed
 * straight into its slices' payloads. The same bytes as `encodeSegment` then `encodeSlice` for
 * each shard, which allocate the parity and every slice a second time (24 MiB for an 8 MiB
 * segment where this takes 12, and the garbage collector's time to free them on the writer's
 * path).
 */
export function sliceSegment(
  codec: Codec,
  segment: Uint8Array,
  names: SliceName[],
  allocate: (length: number) => Uint8Array = Buffer.allocUnsafe,
): Uint8Array[] {
  const k = codec.dataShards;
  const size = shardSize(segment.length, k);
  const slices = names.map((name) => allocate(sliceHeaderLength(name) + size));
  const payloads = slices.map((slice) => slice.subarray(slice.length - size));
  for (let i = 0; i < k; i++) {
    const data = segment.subarray(Math.min(i * size, segment.length), (i + 1) * size);
    const payload = payloads[i] as Uint8Array;
    payload.set(data);
    // Only the last data shard can run past the end of the segment: its tail is zeros.
    payload.fill(0, data.length);
  }
  codec.encode(payloads);
  return slices.map((slice, pillar) =>
    encodeSliceInPlace(
      {
        name: names[pillar] as SliceName,
        dataShards: k,
        parityShards: codec.parityShards,
        segmentLength: segment.length,
      },
      slice,
    ),
  );
}

export interface EncodedSegment {
  index: number;
  /** True bytes of the segment. */
  length: number;
  /** Slice bytes (header and payload) per pillar. */
  slices: Uint8Array[];
}

export interface StreamSummary {
  size: number;
  sha256: string;
  segments: number;
}

/**
 * Encodes `source` segment by segment into slices named by `name`. The generator's return
 * value gives the object's size and SHA-256.
 *
 * With `from`, `source` is the rest of an object whose first `from.segment` segments
 * (`from.size` bytes) were encoded earlier, and `hash` holds their SHA-256 so far: indexes,
 * size and digest go on from there, and an empty rest gives no segment.
 */
export async function* encodeStream(
  source: AsyncIterable<Uint8Array>,
  opts: {
    codec: Codec;
    segmentSize: number;
    name: (segment: number, pillar: number) => SliceName;
    /** Where each slice's memory comes from (a BufferPool's `take`); new buffers by default. */
    allocate?: (length: number) => Uint8Array;
    /** The hash the bytes go through (a saved one, to go on); a new one by default. */
    hash?: Sha256;
    from?: { segment: number; size: number };
  },
): AsyncGenerator<EncodedSegment, StreamSummary> {
  const { codec } = opts;
  const hash = opts.hash ?? (await createSha256());
  let size = opts.from?.size ?? 0;
  let index = opts.from?.segment ?? 0;
  const cut = cutSegments(source, opts.segmentSize, { reuse: true, continues: index > 0 });
  // The segment is copied into its slices before the next is cut: one buffer serves them all.
  for await (const segment of cut) {
    hash.update(segment);
    size += segment.length;
    const names = Array.from({ length: codec.totalShards }, (_, pillar) =>
      opts.name(index, pillar),
    );
    const slices = sliceSegment(codec, segment, names, opts.allocate);
    yield { index, length: segment.length, slices };
    index++;
  }
  return { size, sha256: hash.hex(), segments: index };
}

/** One segment's slices as fetched: bytes, or null where a unit had nothing. */
export interface FetchedSegment {
  index: number;
  /** Canonical slice name expected at each pillar. */
  names: string[];
  slices: Array<Uint8Array | null>;
}

/**
 * Verifies and decodes fetched segments back into the byte stream. A slice that fails its
 * checks is reported through `onDamage` and treated as missing; with fewer than k good slices
 * the stream fails with TooFewShardsError.
 */
export async function* decodeStream(
  segments: AsyncIterable<FetchedSegment>,
  codec: Codec,
  onDamage: (segment: number, pillar: number, error: InvalidSliceError) => void = () => {},
): AsyncGenerator<Uint8Array> {
  for await (const segment of segments) {
    let length = -1;
    const payloads = segment.slices.map((bytes, pillar) => {
      if (!bytes) return null;
      try {
        const { header, payload } = decodeSlice(bytes, segment.names[pillar]);
        if (header.dataShards !== codec.dataShards || header.parityShards !== codec.parityShards) {
          throw new InvalidSliceError(
            'foreign',
            `encoded ${header.dataShards}+${header.parityShards}, expected ${codec.dataShards}+${codec.parityShards}`,
            segment.names[pillar],
          );
        }
        length = header.segmentLength;
        return payload;
      } catch (err) {
        if (!(err instanceof InvalidSliceError)) throw err;
        onDamage(segment.index, pillar, err);
        return null;
      }
    });
    yield decodeSegment(codec, payloads, Math.max(length, 0));
  }
}

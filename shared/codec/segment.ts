/**
 * Segments: an object is cut into fixed-size segments (the last one shorter), and each is
 * encoded on its own into n = k + m slices. A segment of L bytes becomes k data shards of
 * ceil(L / k) bytes (the last padded with zeros) and m parity shards; the true length travels
 * in every slice header, so decoding drops the padding.
 */

import { TooFewShardsError } from '../errors.ts';
import type { Codec } from './reed-solomon.ts';

/** Segments of an object of `size` bytes; an empty object still has one (empty) segment. */
export function segmentCount(size: number, segmentSize: number): number {
  return Math.max(1, Math.ceil(size / segmentSize));
}

/** Bytes of segment `index` of an object of `size` bytes. */
export function segmentLength(size: number, segmentSize: number, index: number): number {
  return Math.max(0, Math.min(segmentSize, size - index * segmentSize));
}

export function shardSize(segmentLength: number, dataShards: number): number {
  return Math.ceil(segmentLength / dataShards);
}

/** The n payloads of one segment: k data shards cut from `segment`, then m parity shards. */
export function encodeSegment(codec: Codec, segment: Uint8Array): Uint8Array[] {
  const k = codec.dataShards;
  const size = shardSize(segment.length, k);
  const shards: Uint8Array[] = [];
  for (let i = 0; i < k; i++) {
    const start = i * size;
    if (start + size <= segment.length) shards.push(segment.subarray(start, start + size));
    else {
      // Only the last data shard can run past the end; it is copied and padded.
      const padded = new Uint8Array(size);
      padded.set(segment.subarray(Math.min(start, segment.length)));
      shards.push(padded);
    }
  }
  for (let j = 0; j < codec.parityShards; j++) shards.push(new Uint8Array(size));
  codec.encode(shards);
  return shards;
}

/**
 * The segment's bytes from any k of its payloads (null where a slice is missing or was refused),
 * as views of its data shards in order, padding dropped: nothing is copied when the data
 * shards are all there.
 * @throws TooFewShardsError with fewer than k payloads.
 */
export function segmentParts(
  codec: Codec,
  payloads: Array<Uint8Array | null>,
  length: number,
): Uint8Array[] {
  const k = codec.dataShards;
  const present = payloads.filter((p) => p !== null).length;
  if (present < k) throw new TooFewShardsError(present, k);
  const shards = [...payloads];
  if (shards.slice(0, k).some((s) => s === null)) codec.reconstruct(shards);
  const size = shardSize(length, k);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < k && i * size < length; i++) {
    parts.push((shards[i] as Uint8Array).subarray(0, Math.min(size, length - i * size)));
  }
  return parts;
}

/**
 * The segment's bytes from any k of its payloads, in one buffer.
 * @throws TooFewShardsError with fewer than k payloads.
 */
export function decodeSegment(
  codec: Codec,
  payloads: Array<Uint8Array | null>,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of segmentParts(codec, payloads, length)) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

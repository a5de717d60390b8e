/**
 * The slice format: a small header, then the payload (one shard of a segment).
 *
 *   offset  size  field
 *        0     4  magic "DSNS"
 *        4     1  format version (1)
 *        5     1  flags (0)
 *        6     2  k, data shards            (little-endian, as every field)
 *        8     2  m, parity shards
 *       10     2  reserved (0)
 *       12     4  segment length: the true bytes of the segment, before padding
 *       16     4  payload length
 *       20     4  CRC-32 of the payload
 *       24     2  slice name length L
 *       26     L  slice name (UTF-8, canonical form)
 *     26+L     4  CRC-32 of bytes 0 .. 26+L
 *     30+L        payload
 *
 * Every field is checked on read, and so is its consistency: `1 <= k`, `k + m <= 256`, the
 * pillar below `k + m`, and the payload exactly `ceil(segment length / k)` bytes, the shard size
 * of such a segment. The header has its own checksum so that a damaged header is told apart
 * from a damaged payload, and so that no field is trusted before it is checked.
 *
 * Both checksums are CRC-32 (shared/checksum.ts says why); the one S3 verifies on upload is the
 * CRC-32 of the whole slice (`s3Crc32`).
 */

import { InvalidSliceError, InvalidSliceNameError } from '../errors.ts';
import { crc32, crc32Combine, s3Crc32Form } from './checksum.ts';
import { formatSliceName, parseSliceName, type SliceName } from './slice-name.ts';

export { s3Crc32 } from './checksum.ts';

/** The first four bytes of every slice: "DSNS", read as a little-endian u32. */
export const SLICE_MAGIC = 0x534e5344;
/** The format version this code writes and reads. */
export const SLICE_VERSION = 1;
const MAGIC_BYTES = Buffer.from('DSNS', 'latin1');
const FIXED = 30;
const MAX_SHARDS = 256;
const MAX_U32 = 0xffff_ffff;

/** What a slice's header says about it. */
export interface SliceHeader {
  name: SliceName;
  dataShards: number;
  parityShards: number;
  /** True bytes of the segment, before padding. */
  segmentLength: number;
  /** Bytes of the payload: `ceil(segmentLength / dataShards)`. */
  payloadLength: number;
  /** CRC-32 of the payload. */
  payloadCrc: number;
}

/** What a slice is built from, besides its payload. */
export interface SliceMeta {
  name: SliceName;
  dataShards: number;
  parityShards: number;
  segmentLength: number;
}

/** The rule a header breaks, or undefined when its fields agree with each other. */
function inconsistency(
  k: number,
  m: number,
  pillar: number,
  segmentLength: number,
  payloadLength: number,
): string | undefined {
  if (!Number.isInteger(k) || k < 1) return `k must be >= 1, got ${k}`;
  if (!Number.isInteger(m) || m < 0) return `m must be >= 0, got ${m}`;
  if (k + m > MAX_SHARDS) return `k + m must be <= ${MAX_SHARDS}, got ${k + m}`;
  if (pillar >= k + m) return `pillar ${pillar} is not below k + m = ${k + m}`;
  if (!Number.isInteger(segmentLength) || segmentLength < 0 || segmentLength > MAX_U32) {
    return `segment length must be an integer 0..${MAX_U32}, got ${segmentLength}`;
  }
  const shard = Math.ceil(segmentLength / k);
  if (payloadLength !== shard) {
    return `payload of ${payloadLength} bytes, but a ${segmentLength}-byte segment over k = ${k} has ${shard}-byte shards`;
  }
  return undefined;
}

/** Bytes of a slice's header for a slice named `name`. */
export function sliceHeaderLength(name: SliceName): number {
  return FIXED + Buffer.byteLength(formatSliceName(name), 'utf8');
}

/**
 * Builds a slice: header and `payload`, in one buffer.
 *
 * @example
 * const slice = encodeSlice({ name, dataShards: 4, parityShards: 2, segmentLength: 1000 }, shard);
 * @throws InvalidSliceNameError when the name breaks a slice-name rule
 * @throws RangeError when k, m, the pillar, the segment length and the payload do not agree
 */
export function encodeSlice(meta: SliceMeta, payload: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(sliceHeaderLength(meta.name) + payload.length);
  out.set(payload, out.length - payload.length);
  return encodeSliceInPlace(meta, out);
}

/**
 * Builds a slice in `slice`, whose tail already holds the payload (`sliceHeaderLength(name)`
 * bytes of header go before it): a client that reuses its buffers encodes without allocating.
 * Returns `slice`. @throws as encodeSlice
 */
export function encodeSliceInPlace(meta: SliceMeta, slice: Uint8Array): Uint8Array {
  const nameBytes = Buffer.from(formatSliceName(meta.name), 'utf8');
  const headerLength = FIXED + nameBytes.length;
  const payload = slice.subarray(headerLength);
  const rule = inconsistency(
    meta.dataShards,
    meta.parityShards,
    meta.name.pillar,
    meta.segmentLength,
    payload.length,
  );
  if (rule) throw new RangeError(`cannot build slice: ${rule}`);
  const out = Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength);
  out.writeUInt32LE(SLICE_MAGIC, 0);
  out.writeUInt8(SLICE_VERSION, 4);
  out.writeUInt8(0, 5);
  out.writeUInt16LE(meta.dataShards, 6);
  out.writeUInt16LE(meta.parityShards, 8);
  out.writeUInt16LE(0, 10);
  out.writeUInt32LE(meta.segmentLength, 12);
  out.writeUInt32LE(payload.length, 16);
  out.writeUInt32LE(crc32(payload), 20);
  out.writeUInt16LE(nameBytes.length, 24);
  nameBytes.copy(out, 26);
  out.writeUInt32LE(crc32(out.subarray(0, 26 + nameBytes.length)), 26 + nameBytes.length);
  return slice;
}

/**
 * S3's CRC-32 of a whole slice built by `encodeSlice` or `encodeSliceInPlace`, in its
 * `ChecksumCRC32` form, from the header alone: the header's bytes, combined with the payload's
 * CRC that the header records. The payload is not read a second time (an 8 MiB segment's six
 * slices are 12 MiB). Only for slices built here: a slice read back is checked whole by
 * `decodeSlice` or `s3Crc32`, since its header is not yet trusted.
 * @throws RangeError when the header's lengths do not add up to the slice's
 */
export function builtSliceS3Crc32(slice: Uint8Array): string {
  const view = Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength);
  const headerLength = slice.length < FIXED ? -1 : FIXED + view.readUInt16LE(24);
  const payloadLength = headerLength < 0 ? -1 : view.readUInt32LE(16);
  if (headerLength < 0 || headerLength + payloadLength !== slice.length)
    throw new RangeError(
      `not a built slice: ${slice.length} bytes do not hold its header's lengths`,
    );
  const header = crc32(view.subarray(0, headerLength));
  return s3Crc32Form(crc32Combine(header, view.readUInt32LE(20), payloadLength));
}

/**
 * Reads and checks a slice: its header checksum, its fields, its payload checksum, its lengths,
 * and (when given) that it is the slice `expected` names. The payload returned is a view of
 * `bytes`, not a copy.
 *
 * @example
 * const { header, payload } = decodeSlice(await store.get(unit, key), key);
 * @throws InvalidSliceError whose `defect` says why: `truncated` (cut short), `foreign` (not a
 *   slice, or another slice than `expected`), `version` (a format this code does not read) or
 *   `corrupt` (a checksum mismatch or fields that contradict each other).
 */
export function decodeSlice(
  bytes: Uint8Array,
  expected?: string,
): { header: SliceHeader; payload: Uint8Array } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4 && MAGIC_BYTES.subarray(0, buf.length).equals(buf)) {
    throw new InvalidSliceError(
      'truncated',
      `${buf.length} bytes, under the ${FIXED}-byte header`,
      expected,
    );
  }
  if (buf.length < 4 || buf.readUInt32LE(0) !== SLICE_MAGIC) {
    throw new InvalidSliceError(
      'foreign',
      `starts with 0x${buf.subarray(0, 4).toString('hex')}, not the slice magic "DSNS"`,
      expected,
    );
  }
  if (buf.length < FIXED) {
    throw new InvalidSliceError(
      'truncated',
      `${buf.length} bytes, under the ${FIXED}-byte header`,
      expected,
    );
  }
  const version = buf.readUInt8(4);
  if (version !== SLICE_VERSION) {
    throw new InvalidSliceError(
      'version',
      `format version ${version}, this code reads ${SLICE_VERSION}`,
      expected,
    );
  }
  const nameLength = buf.readUInt16LE(24);
  const headerLength = FIXED + nameLength;
  if (buf.length < headerLength) {
    throw new InvalidSliceError(
      'truncated',
      `${buf.length} bytes, under its ${headerLength}-byte header`,
      expected,
    );
  }
  const headerCrc = buf.readUInt32LE(26 + nameLength);
  if (crc32(buf.subarray(0, 26 + nameLength)) !== headerCrc) {
    throw new InvalidSliceError('corrupt', 'header checksum mismatch', expected);
  }
  const flags = buf.readUInt8(5);
  if (flags !== 0 || buf.readUInt16LE(10) !== 0) {
    throw new InvalidSliceError(
      'version',
      `flags 0x${flags.toString(16)} or reserved bits this code does not know`,
      expected,
    );
  }
  const text = buf.toString('utf8', 26, 26 + nameLength);
  if (expected !== undefined && text !== expected) {
    throw new InvalidSliceError('foreign', `holds slice ${text}`, expected);
  }
  let name: SliceName;
  try {
    name = parseSliceName(text);
  } catch (err) {
    if (!(err instanceof InvalidSliceNameError)) throw err;
    throw new InvalidSliceError('corrupt', err.message, expected, { cause: err });
  }
  const header: SliceHeader = {
    name,
    dataShards: buf.readUInt16LE(6),
    parityShards: buf.readUInt16LE(8),
    segmentLength: buf.readUInt32LE(12),
    payloadLength: buf.readUInt32LE(16),
    payloadCrc: buf.readUInt32LE(20),
  };
  const rule = inconsistency(
    header.dataShards,
    header.parityShards,
    name.pillar,
    header.segmentLength,
    header.payloadLength,
  );
  if (rule) throw new InvalidSliceError('corrupt', rule, text);
  const actual = buf.length - headerLength;
  if (actual < header.payloadLength) {
    throw new InvalidSliceError(
      'truncated',
      `payload has ${actual} of ${header.payloadLength} bytes`,
      text,
    );
  }
  if (actual > header.payloadLength) {
    throw new InvalidSliceError(
      'corrupt',
      `${actual - header.payloadLength} bytes after the payload`,
      text,
    );
  }
  const payload = buf.subarray(headerLength);
  if (crc32(payload) !== header.payloadCrc) {
    throw new InvalidSliceError('corrupt', 'payload checksum mismatch', text);
  }
  return { header, payload };
}

/** What a committed manifest says each slice of one of its segments must be. */
export interface SliceLayout {
  /** The vault's read threshold k when the revision was written. */
  dataShards: number;
  /** Pillars of the revision: n. */
  width: number;
  /** True bytes of the segment. */
  segmentLength: number;
}

/**
 * Checks a decoded header against the manifest. A slice with the right name and a good
 * checksum may still have been built for another layout (another geometry or segment length);
 * its payload then cannot be decoded with this segment's other slices, so it is not this pillar.
 * @throws InvalidSliceError ('foreign') naming both layouts
 */
export function checkSliceLayout(header: SliceHeader, layout: SliceLayout, name?: string): void {
  if (
    header.segmentLength === layout.segmentLength &&
    header.dataShards === layout.dataShards &&
    header.dataShards + header.parityShards === layout.width
  ) {
    return;
  }
  throw new InvalidSliceError(
    'foreign',
    `header says ${header.dataShards}+${header.parityShards}, segment length ${header.segmentLength}; manifest says ${layout.dataShards}+${layout.width - layout.dataShards}, ${layout.segmentLength}`,
    name,
  );
}

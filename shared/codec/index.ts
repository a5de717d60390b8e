/**
 * The codec system's public surface: Reed-Solomon over GF(2^8) (`reed-solomon.ts`), slice
 * headers and names, and segments cut, encoded and decoded as streams. Other systems import
 * this file only.
 */

export { createSha256, type Sha256 } from '#codec/sha256';
export { BufferPool } from './buffer-pool.ts';
export { codecFor } from './codecs.ts';
export { type Codec, type CodecOptions, createCodec, type KernelName } from './reed-solomon.ts';
export { createResumableSha256, type ResumableSha256 } from './resumable-sha256.ts';
export { segmentCount, segmentLength, segmentParts, shardSize } from './segment.ts';
export {
  cutSegments,
  type EncodedSegment,
  encodeStream,
  type StreamSummary,
} from './segment-stream.ts';
export {
  builtSliceS3Crc32,
  checkSliceLayout,
  decodeSlice,
  encodeSlice,
  encodeSliceInPlace,
  s3Crc32,
  sliceHeaderLength,
} from './slice-header.ts';
export {
  formatSliceName,
  MAX_SEGMENT_INDEX,
  parseSliceName,
  revisionPrefix,
  type SliceName,
  sliceNamesOf,
} from './slice-name.ts';

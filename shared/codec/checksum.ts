/**
 * The slice checksum: CRC-32 (IEEE 802.3, the zlib and gzip polynomial), from `node:zlib` on
 * Node and from a table-driven one in a browser (`#codec/crc32`, platform/).
 *
 * Why this one:
 * - S3 verifies it on upload (`x-amz-checksum-crc32`, the SDK's `ChecksumCRC32`), so the number
 *   in a slice's header is the one the bucket checks: a slice is covered end to end, from the
 *   writer through the network to the disk and back, by a single checksum.
 * - Node's bundled zlib folds with carry-less multiplication (PCLMULQDQ / PMULL), about 7 GB/s
 *   on one core here (`npm run bench:codec` measures it beside the codec), so checking every
 *   read costs a fraction of decoding it.
 * - It is built in: no native addon to keep external in an esbuild bundle or to ship per Lambda
 *   architecture. CRC-32C (`@node-rs/crc32`) is as fast and S3 verifies it too, but it is a
 *   native dependency for no gain in detection: both catch every burst up to 32 bits and
 *   random damage with probability 1 - 2^-32.
 */
import { crc32Update } from '#codec/crc32';

/**
 * CRC-32 of `bytes`, continuing from `previous` (the CRC of the bytes before, 0 to start).
 *
 * @example
 * crc32(Buffer.from('123456789')); // 0xcbf43926
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return crc32Update(bytes, previous);
}

/**
 * The CRC-32 of a whole stored object in the form S3's `ChecksumCRC32` takes and returns:
 * the four bytes big-endian, in base64.
 *
 * @example
 * await s3.send(new PutObjectCommand({ Bucket, Key, Body: slice, ChecksumCRC32: s3Crc32(slice) }));
 */
export function s3Crc32(bytes: Uint8Array): string {
  return s3Crc32Form(crc32(bytes));
}

/** `mat` (32 rows of a GF(2) 32x32 matrix) times the bit vector `vec`. */
function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0, v = vec >>> 0; v !== 0; i++, v >>>= 1) if (v & 1) sum ^= mat[i] as number;
  return sum >>> 0;
}

/** `mat` squared, into `square`. */
function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n] as number);
}

/**
 * The CRC-32 of A followed by B, from A's CRC, B's CRC and B's length: zlib's `crc32_combine`,
 * which Node does not expose, written here after its well-known algorithm (appending `len`
 * zero bytes to A's CRC is a linear map, applied by repeated squaring of the one-zero-bit
 * operator). It costs some 64 matrix squarings whatever the length, so a slice's CRC can come
 * from its header and its payload's CRC without a second pass over the payload.
 *
 * @example
 * crc32Combine(crc32(a), crc32(b), b.length) === crc32(Buffer.concat([a, b]));
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  // The operator for one zero bit: the reflected polynomial, then a shift.
  odd[0] = 0xedb88320;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  gf2Square(even, odd); // two zero bits
  gf2Square(odd, even); // four zero bits
  let crc = crcA >>> 0;
  // One zero byte is eight zero bits: the first square below is the operator for one byte.
  for (let len = lengthB; len > 0; ) {
    gf2Square(even, odd);
    if (len % 2 === 1) crc = gf2Times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len % 2 === 1) crc = gf2Times(odd, crc);
    len = Math.floor(len / 2);
  }
  return (crc ^ crcB) >>> 0;
}

/** A CRC-32 in the form S3's `ChecksumCRC32` takes: the four bytes big-endian, in base64. */
export function s3Crc32Form(crc: number): string {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(crc >>> 0, 0);
  return b.toString('base64');
}

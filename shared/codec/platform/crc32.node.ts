/**
 * CRC-32 on Node: zlib's, folded with carry-less multiplication (see ../checksum.ts). The
 * package's `#codec/crc32` import names this file everywhere but in a browser build
 * (crc32.web.ts there); both give the same numbers.
 */
import { crc32 } from 'node:zlib';

/** CRC-32 of `bytes`, continuing from `previous` (the CRC of the bytes before, 0 to start). */
export function crc32Update(bytes: Uint8Array, previous: number): number {
  return crc32(bytes, previous) >>> 0;
}

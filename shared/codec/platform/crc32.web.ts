/**
 * CRC-32 in a browser, which has no zlib: SheetJS's `crc-32` (pure JS, slicing by 16 tables),
 * whose seed continues a CRC exactly as zlib's does. The console's build takes this file for
 * `#codec/crc32` (the package's `browser` condition); Node takes crc32.node.ts.
 */
import CRC32 from 'crc-32';

/** CRC-32 of `bytes`, continuing from `previous` (the CRC of the bytes before, 0 to start). */
export function crc32Update(bytes: Uint8Array, previous: number): number {
  return CRC32.buf(bytes, previous) >>> 0;
}

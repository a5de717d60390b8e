/**
 * Arithmetic in GF(2^8) with the field polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d) and
 * generator 2: the field of Backblaze JavaReedSolomon and klauspost/reedsolomon.
 */

export const FIELD_POLYNOMIAL = 0x11d;

/** 2^i for i in 0..509, doubled so that exp[log a + log b] needs no modulo. */
export const EXP = new Uint8Array(512);
/** log2 of 1..255 (LOG[0] is unused). */
export const LOG = new Uint8Array(256);

{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= FIELD_POLYNOMIAL;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255] as number;
}

export function mul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[(LOG[a] as number) + (LOG[b] as number)] as number;
}

export function div(a: number, b: number): number {
  if (b === 0) throw new RangeError('division by zero in GF(2^8)');
  if (a === 0) return 0;
  return EXP[(LOG[a] as number) + 255 - (LOG[b] as number)] as number;
}

/** a^n, with 0^0 = 1 as the Vandermonde construction needs. */
export function pow(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return EXP[((LOG[a] as number) * n) % 255] as number;
}

let table: Uint8Array | undefined;

/** The full product table: `MUL[c * 256 + x] = c * x`, built on first use (64 KiB). */
export function mulTable(): Uint8Array {
  if (!table) {
    table = new Uint8Array(65536);
    for (let c = 0; c < 256; c++) for (let x = 0; x < 256; x++) table[c * 256 + x] = mul(c, x);
  }
  return table;
}

/**
 * Split-nibble tables for multiplying by `c`: 16 products of the low nibble, then 16 of the
 * high nibble, so `c * x = lo[x & 15] ^ hi[x >> 4]`. The SIMD kernel looks these up with
 * byte shuffles.
 */
export function nibbleTables(c: number, out: Uint8Array, offset: number): void {
  for (let n = 0; n < 16; n++) {
    out[offset + n] = mul(c, n);
    out[offset + 16 + n] = mul(c, n << 4);
  }
}

/**
 * The portable kernel: `outputs[j] = sum_i coefficients[j][i] * inputs[i]` over GF(2^8), one
 * byte at a time through the full product table. Correct everywhere, and the reference the
 * SIMD kernel is checked against; its speed is only reported.
 */
import { mulTable } from './gf256.ts';

/**
 * @param coefficients row-major, `outputs.length` rows of `inputs.length` columns
 * @param from first byte offset to compute (the SIMD kernel leaves a short tail to this one)
 */
export function dotProductTs(
  coefficients: Uint8Array,
  inputs: Uint8Array[],
  outputs: Uint8Array[],
  from = 0,
  to = outputs[0]?.length ?? 0,
): void {
  const table = mulTable();
  const n = inputs.length;
  outputs.forEach((out, j) => {
    out.fill(0, from, to);
    for (let i = 0; i < n; i++) {
      const c = coefficients[j * n + i] as number;
      if (c === 0) continue;
      const input = inputs[i] as Uint8Array;
      if (c === 1) {
        for (let x = from; x < to; x++) out[x] = (out[x] as number) ^ (input[x] as number);
        continue;
      }
      const row = table.subarray(c * 256, c * 256 + 256);
      for (let x = from; x < to; x++)
        out[x] = (out[x] as number) ^ (row[input[x] as number] as number);
    }
  });
}

/**
 * Matrices over GF(2^8), stored row-major in a Uint8Array, and the systematic encoding matrix
 * built exactly as Backblaze JavaReedSolomon and klauspost/reedsolomon build it: a Vandermonde
 * matrix (row r is r^0, r^1, ...), multiplied by the inverse of its top square so that the top
 * `k` rows become the identity.
 */
import { div, EXP, LOG, pow } from './gf256.ts';

export interface Matrix {
  rows: number;
  cols: number;
  data: Uint8Array;
}

export function matrix(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Uint8Array(rows * cols) };
}

export function vandermonde(rows: number, cols: number): Matrix {
  const m = matrix(rows, cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m.data[r * cols + c] = pow(r, c);
  return m;
}

export function multiply(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows)
    throw new RangeError(`cannot multiply ${a.rows}x${a.cols} by ${b.rows}x${b.cols}`);
  const out = matrix(a.rows, b.cols);
  for (let r = 0; r < a.rows; r++) {
    for (let i = 0; i < a.cols; i++) {
      const f = a.data[r * a.cols + i] as number;
      if (f === 0) continue;
      const logF = LOG[f] as number;
      for (let c = 0; c < b.cols; c++) {
        const v = b.data[i * b.cols + c] as number;
        if (v !== 0) {
          out.data[r * b.cols + c] =
            (out.data[r * b.cols + c] as number) ^ (EXP[logF + (LOG[v] as number)] as number);
        }
      }
    }
  }
  return out;
}

/** Rows `rows` of `m`, in that order. */
export function selectRows(m: Matrix, rows: number[]): Matrix {
  const out = matrix(rows.length, m.cols);
  rows.forEach((r, i) => {
    out.data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols);
  });
  return out;
}

/** The inverse of a square matrix, by Gauss-Jordan elimination. @throws RangeError if singular. */
export function invert(m: Matrix): Matrix {
  const n = m.rows;
  if (n !== m.cols) throw new RangeError(`only square matrices invert, got ${m.rows}x${m.cols}`);
  const w = 2 * n;
  const a = new Uint8Array(n * w);
  for (let r = 0; r < n; r++) {
    a.set(m.data.subarray(r * n, (r + 1) * n), r * w);
    a[r * w + n + r] = 1;
  }
  for (let c = 0; c < n; c++) {
    let pivot = c;
    while (pivot < n && a[pivot * w + c] === 0) pivot++;
    if (pivot === n) throw new RangeError('matrix is singular');
    if (pivot !== c) {
      const tmp = a.slice(pivot * w, (pivot + 1) * w);
      a.copyWithin(pivot * w, c * w, (c + 1) * w);
      a.set(tmp, c * w);
    }
    const p = a[c * w + c] as number;
    if (p !== 1) for (let i = 0; i < w; i++) a[c * w + i] = div(a[c * w + i] as number, p);
    // Columns left of c are already zero in the pivot row; the log of the factor is taken
    // once per row, as this loop is cubic and a 255 x 255 inverse runs it 16 million times.
    for (let r = 0; r < n; r++) {
      const f = a[r * w + c] as number;
      if (r === c || f === 0) continue;
      const logF = LOG[f] as number;
      for (let i = c; i < w; i++) {
        const v = a[c * w + i] as number;
        if (v !== 0)
          a[r * w + i] = (a[r * w + i] as number) ^ (EXP[logF + (LOG[v] as number)] as number);
      }
    }
  }
  const out = matrix(n, n);
  for (let r = 0; r < n; r++) out.data.set(a.subarray(r * w + n, (r + 1) * w), r * n);
  return out;
}

/** The (k + m) x k systematic encoding matrix. */
export function encodingMatrix(k: number, m: number): Matrix {
  const vm = vandermonde(k + m, k);
  const top = selectRows(vm, [...Array(k).keys()]);
  return multiply(vm, invert(top));
}

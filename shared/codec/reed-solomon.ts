/**
 * Systematic Reed-Solomon erasure coding over GF(2^8) (polynomial 0x11d), compatible byte for
 * byte with Backblaze JavaReedSolomon and klauspost/reedsolomon: shards 0..k-1 are the data
 * itself, shards k..k+m-1 parity, and any k shards give the others back.
 *
 * @example
 * const codec = createCodec(4, 2);
 * const shards = codec.allocShards(65536); // or any six equal Uint8Arrays
 * // ...fill shards[0..3] with data...
 * codec.encode(shards);                   // computes shards[4] and shards[5]
 * const damaged = [null, shards[1], null, shards[3], shards[4], shards[5]];
 * codec.reconstruct(damaged);             // damaged[0] and damaged[2] are back
 */
import { TooFewShardsError } from '../errors.ts';
import { dotProductTs } from './kernel-ts.ts';
import { encodingMatrix, invert, type Matrix, selectRows } from './matrix.ts';
import { type PreparedMatrix, prepare, WasmKernel, wasmKernelModule } from './wasm-kernel.ts';

export { TooFewShardsError };

export type KernelName = 'wasm-relaxed-simd' | 'wasm-simd' | 'typescript';

export interface Codec {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  /** Which kernel computes: the SIMD one wherever the engine runs it. */
  readonly kernel: KernelName;
  /** Computes the parity shards in place from the data shards. Takes k + m equal-length shards. */
  encode(shards: Uint8Array[]): void;
  /**
   * Fills every null or undefined entry in place (allocating it) from any k present shards.
   * Shards listed in `options.rebuild` count as missing but keep their arrays, which are
   * overwritten: with shards from `allocShards` nothing is allocated or copied.
   * @throws TooFewShardsError when fewer than k are present.
   */
  reconstruct(shards: Array<Uint8Array | null | undefined>, options?: { rebuild?: number[] }): void;
  /** True when the parity shards are exactly what the data shards encode to. */
  verify(shards: Uint8Array[]): boolean;
  /**
   * k + m zeroed shards of `shardSize` bytes in the kernel's own memory, on which encode,
   * reconstruct and verify copy nothing. Valid until the codec must grow its memory for a
   * larger call with other shards; a call with such invalidated views throws.
   */
  allocShards(shardSize: number): Uint8Array[];
}

export interface CodecOptions {
  /** `auto` (default) takes WebAssembly SIMD when available; `typescript` forces the fallback. */
  kernel?: 'auto' | 'typescript';
}

export { wasmKernelModule } from './wasm-kernel.ts';

/** Decode matrices kept per erasure pattern; a pattern repeats for every segment of a read. */
const DECODE_CACHE_LIMIT = 256;

function checkCount(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * Creates a codec for `dataShards` (k) data and `parityShards` (m) parity shards.
 * @throws RangeError unless 1 <= k, 0 <= m and k + m <= 256.
 */
export function createCodec(
  dataShards: number,
  parityShards: number,
  options: CodecOptions = {},
): Codec {
  const k = checkCount('dataShards', dataShards, 1);
  const m = checkCount('parityShards', parityShards, 0);
  if (k + m > 256) throw new RangeError(`dataShards + parityShards must be <= 256, got ${k + m}`);
  for (const key of Object.keys(options)) {
    if (key !== 'kernel') throw new RangeError(`unknown codec option "${key}"`);
  }
  if (
    options.kernel !== undefined &&
    options.kernel !== 'auto' &&
    options.kernel !== 'typescript'
  ) {
    throw new RangeError(`kernel must be 'auto' or 'typescript', got ${String(options.kernel)}`);
  }
  const n = k + m;
  const enc: Matrix = encodingMatrix(k, m);
  const parityRows = prepare(enc.data.slice(k * k), m, k);
  const compiled = options.kernel === 'typescript' ? null : wasmKernelModule();
  const wasm = compiled ? new WasmKernel(compiled.module, compiled.variant) : undefined;
  const decodeCache = new Map<string, PreparedMatrix>();

  const dot = (mat: PreparedMatrix, inputs: Uint8Array[], outputs: Uint8Array[], len: number) => {
    if (outputs.length === 0) return;
    if (wasm) wasm.dot(mat, inputs, outputs, len);
    else dotProductTs(mat.coefficients, inputs, outputs, 0, len);
  };

  const checkShard = (s: Uint8Array, i: number, len: number) => {
    if (!(s instanceof Uint8Array)) {
      throw new RangeError(
        `shard ${i} must be a Uint8Array, got ${s === null ? 'null' : typeof s}`,
      );
    }
    if ((s.buffer as ArrayBuffer).detached) {
      throw new RangeError(
        `shard ${i} is a view from allocShards invalidated when the codec's memory grew`,
      );
    }
    if (s.length !== len) {
      throw new RangeError(
        `all shards must have the same length: shard ${i} has ${s.length} bytes, shard 0 has ${len}`,
      );
    }
  };

  const checkAll = (shards: Uint8Array[], what: string): number => {
    if (!Array.isArray(shards) || shards.length !== n) {
      throw new RangeError(
        `${what} takes k + m = ${n} shards, got ${Array.isArray(shards) ? shards.length : typeof shards}`,
      );
    }
    const len = shards[0]?.length ?? 0;
    shards.forEach((s, i) => {
      checkShard(s, i, len);
    });
    return len;
  };

  const decodeMatrix = (chosen: number[], rows: number[]): PreparedMatrix => {
    const key = `${chosen.join(',')}/${rows.join(',')}`;
    let prepared = decodeCache.get(key);
    if (!prepared) {
      const inverse = invert(selectRows(enc, chosen));
      const coefficients = selectRows(inverse, rows).data;
      prepared = prepare(coefficients, rows.length, k);
      if (decodeCache.size >= DECODE_CACHE_LIMIT)
        decodeCache.delete(decodeCache.keys().next().value as string);
      decodeCache.set(key, prepared);
    }
    return prepared;
  };

  const parityFor = (rows: number[]): PreparedMatrix => {
    if (rows.length === m) return parityRows;
    const key = `parity/${rows.join(',')}`;
    let prepared = decodeCache.get(key);
    if (!prepared) {
      prepared = prepare(selectRows(enc, rows).data, rows.length, k);
      decodeCache.set(key, prepared);
    }
    return prepared;
  };

  return {
    dataShards: k,
    parityShards: m,
    totalShards: n,
    kernel: wasm ? wasm.variant : 'typescript',

    encode(shards) {
      const len = checkAll(shards, 'encode');
      dot(parityRows, shards.slice(0, k), shards.slice(k), len);
    },

    reconstruct(shards, options = {}) {
      if (!Array.isArray(shards) || shards.length !== n) {
        throw new RangeError(
          `reconstruct takes k + m = ${n} shards, got ${Array.isArray(shards) ? shards.length : typeof shards}`,
        );
      }
      const rebuild = new Set(options.rebuild ?? []);
      for (const i of rebuild) {
        if (!Number.isInteger(i) || i < 0 || i >= n || !shards[i]) {
          throw new RangeError(
            `rebuild lists ${i}, which must be the index of a shard given in place`,
          );
        }
      }
      const missing = (i: number) => !shards[i] || rebuild.has(i);
      const present: number[] = [];
      let len = -1;
      shards.forEach((s, i) => {
        if (s === null || s === undefined) return;
        if (len < 0) len = s.length;
        checkShard(s, i, len);
        if (!rebuild.has(i)) present.push(i);
      });
      if (present.length < k) throw new TooFewShardsError(present.length, k);
      if (present.length === n) return;
      const outputFor = (i: number) =>
        rebuild.has(i) ? (shards[i] as Uint8Array) : new Uint8Array(len);
      const missingData = [...Array(k).keys()].filter(missing);
      if (missingData.length > 0) {
        const chosen = present.slice(0, k);
        const outputs = missingData.map(outputFor);
        dot(
          decodeMatrix(chosen, missingData),
          chosen.map((i) => shards[i] as Uint8Array),
          outputs,
          len,
        );
        missingData.forEach((d, j) => {
          shards[d] = outputs[j];
        });
      }
      const missingParity = [...Array(m).keys()].map((p) => k + p).filter(missing);
      if (missingParity.length > 0) {
        const outputs = missingParity.map(outputFor);
        dot(parityFor(missingParity), shards.slice(0, k) as Uint8Array[], outputs, len);
        missingParity.forEach((p, j) => {
          shards[p] = outputs[j];
        });
      }
    },

    verify(shards) {
      const len = checkAll(shards, 'verify');
      const computed = [...Array(m)].map(() => new Uint8Array(len));
      dot(parityRows, shards.slice(0, k), computed, len);
      return computed.every((c, j) => Buffer.compare(c, shards[k + j] as Uint8Array) === 0);
    },

    allocShards(shardSize) {
      checkCount('shardSize', shardSize, 0);
      return wasm ? wasm.alloc(n, shardSize) : [...Array(n)].map(() => new Uint8Array(shardSize));
    },
  };
}

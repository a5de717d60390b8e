/**
 * The WebAssembly SIMD kernel (kernel.wat): one instance, with its own memory, per codec.
 * Shards that already live in that memory (from `alloc`) are used where they are; others are
 * copied into scratch space for the call and the outputs copied back.
 */
import { nibbleTables } from './gf256.ts';
import { dotProductTs } from './kernel-ts.ts';
import { KERNEL_RELAXED_SIMD, KERNEL_SIMD } from './kernel-wasm.ts';

export type WasmVariant = 'wasm-relaxed-simd' | 'wasm-simd';

type Dot = (tab: number, ins: number, outs: number, nin: number, len: number) => void;

interface Exports {
  memory: WebAssembly.Memory;
  dot1: Dot;
  dot2: Dot;
  dot3: Dot;
  dot4: Dot;
}

let compiled: { module: WebAssembly.Module; variant: WasmVariant } | null | undefined;

/**
 * The best kernel this engine runs, compiled once per process; null without WebAssembly SIMD.
 * A worker thread can be handed the main thread's module (`adopt`), whose code V8 shares, so
 * it starts with the kernel already optimized instead of compiling and warming its own.
 */
export function wasmKernelModule(adopt?: {
  module: WebAssembly.Module;
  variant: WasmVariant;
}): { module: WebAssembly.Module; variant: WasmVariant } | null {
  if (adopt) compiled = adopt;
  if (compiled !== undefined) return compiled;
  compiled = null;
  for (const [b64, variant] of [
    [KERNEL_RELAXED_SIMD, 'wasm-relaxed-simd'],
    [KERNEL_SIMD, 'wasm-simd'],
  ] as const) {
    const bytes = Buffer.from(b64, 'base64');
    if (typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes)) {
      compiled = { module: new WebAssembly.Module(bytes), variant };
      break;
    }
  }
  return compiled;
}

const PAGE = 65536;
const ALIGN = 32;
const GROUP = 4;

/** Coefficients prepared for the kernel: per group of four outputs, per input, 32-byte tables. */
export interface PreparedMatrix {
  rows: number;
  cols: number;
  coefficients: Uint8Array;
  tables: Uint8Array;
}

export function prepare(coefficients: Uint8Array, rows: number, cols: number): PreparedMatrix {
  const tables = new Uint8Array(rows * cols * 32);
  let at = 0;
  for (let g = 0; g < rows; g += GROUP) {
    const size = Math.min(GROUP, rows - g);
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < size; j++) {
        nibbleTables(coefficients[(g + j) * cols + i] as number, tables, at);
        at += 32;
      }
    }
  }
  return { rows, cols, coefficients, tables };
}

export class WasmKernel {
  readonly variant: WasmVariant;
  private readonly exports: Exports;
  private readonly pointers: number;
  private tablesAt = 0;
  private tablesSize = 0;
  /** End of long-lived allocations (tables, shard views); scratch space starts here. */
  private top: number;

  constructor(module: WebAssembly.Module, variant: WasmVariant) {
    this.variant = variant;
    this.exports = new WebAssembly.Instance(module).exports as unknown as Exports;
    this.pointers = 0;
    // Room for 256 input and 256 output pointers.
    this.top = 2048;
  }

  get memory(): WebAssembly.Memory {
    return this.exports.memory;
  }

  private ensure(end: number): void {
    const have = this.exports.memory.buffer.byteLength;
    if (end > have) this.exports.memory.grow(Math.ceil((end - have) / PAGE));
  }

  private reserve(bytes: number): number {
    const at = Math.ceil(this.top / ALIGN) * ALIGN;
    this.ensure(at + bytes);
    this.top = at + bytes;
    return at;
  }

  /**
   * `count` zeroed views of `size` bytes in this kernel's memory. Calls on them copy nothing.
   * They stay valid until the memory has to grow for scratch space (a call with shards from
   * elsewhere that are larger than any before); a detached view is reported, never misused.
   */
  alloc(count: number, size: number): Uint8Array[] {
    const stride = Math.ceil(size / ALIGN) * ALIGN;
    const at = this.reserve(stride * count);
    // Grow now for the scratch a call on these views may need (outputs a reconstruct
    // allocates), so that later calls do not grow the memory and detach the views.
    this.ensure(this.top + stride * count + ALIGN);
    const views: Uint8Array[] = [];
    for (let i = 0; i < count; i++)
      views.push(new Uint8Array(this.exports.memory.buffer, at + i * stride, size));
    return views;
  }

  private resident(view: Uint8Array): boolean {
    return view.buffer === this.exports.memory.buffer;
  }

  /** outputs[j] = sum_i m[j][i] * inputs[i], for the whole length of the shards. */
  dot(m: PreparedMatrix, inputs: Uint8Array[], outputs: Uint8Array[], len: number): void {
    if (m.tables.length > this.tablesSize) {
      this.tablesAt = this.reserve(m.tables.length);
      this.tablesSize = m.tables.length;
    }
    const vecLen = len - (len % 32);
    // Scratch for shards from outside this memory; reserved past the long-lived area and
    // released after the call.
    const foreign = [...inputs, ...outputs].filter((v) => !this.resident(v)).length;
    // Offsets of resident shards, taken before a possible grow detaches their views.
    const offsets = [...inputs, ...outputs].map((v) => (this.resident(v) ? v.byteOffset : -1));
    const stride = Math.ceil(len / ALIGN) * ALIGN;
    const scratchAt = Math.ceil(this.top / ALIGN) * ALIGN;
    this.ensure(scratchAt + foreign * stride);
    const memory = this.exports.memory.buffer;
    const bytes = new Uint8Array(memory);
    const words = new Uint32Array(memory, this.pointers, 512);
    bytes.set(m.tables, this.tablesAt);
    let next = scratchAt;
    const place = (view: Uint8Array, index: number, copyIn: boolean): number => {
      const offset = offsets[index] as number;
      if (offset >= 0) return offset;
      const at = next;
      next += stride;
      if (copyIn) bytes.set(view.subarray(0, len), at);
      return at;
    };
    inputs.forEach((v, i) => {
      words[i] = place(v, i, true);
    });
    const outAt = outputs.map((v, j) => place(v, inputs.length + j, false));
    if (vecLen > 0) {
      const dots = [this.exports.dot1, this.exports.dot2, this.exports.dot3, this.exports.dot4];
      let tab = this.tablesAt;
      for (let g = 0; g < outputs.length; g += GROUP) {
        const size = Math.min(GROUP, outputs.length - g);
        for (let j = 0; j < size; j++) words[256 + j] = outAt[g + j] as number;
        (dots[size - 1] as Dot)(tab, this.pointers, this.pointers + 1024, inputs.length, vecLen);
        tab += size * inputs.length * 32;
      }
    }
    const outViews = outAt.map((at) => new Uint8Array(memory, at, len));
    if (vecLen < len) {
      const inViews = inputs.map((_, i) => new Uint8Array(memory, words[i] as number, len));
      dotProductTs(m.coefficients, inViews, outViews, vecLen, len);
    }
    outputs.forEach((v, j) => {
      if ((offsets[inputs.length + j] as number) < 0) v.set(outViews[j] as Uint8Array);
    });
  }
}

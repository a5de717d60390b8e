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
  private readonly dots: Dot[];
  private readonly pointers: number;
  private tablesAt = 0;
  private tablesSize = 0;
  /** The matrix whose tables are in memory now: encoding calls the same one again and again. */
  private loaded: PreparedMatrix | null = null;
  /** End of long-lived allocations (tables, shard views); scratch space starts here. */
  private top: number;
  private buffer: ArrayBuffer;
  private bytes: Uint8Array;
  private words: Uint32Array;

  constructor(module: WebAssembly.Module, variant: WasmVariant) {
    this.variant = variant;
    this.exports = new WebAssembly.Instance(module).exports as unknown as Exports;
    this.dots = [this.exports.dot1, this.exports.dot2, this.exports.dot3, this.exports.dot4];
    this.pointers = 0;
    // Room for 256 input and 256 output pointers.
    this.top = 2048;
    this.buffer = this.exports.memory.buffer;
    this.bytes = new Uint8Array(this.buffer);
    this.words = new Uint32Array(this.buffer, this.pointers, 512);
  }

  get memory(): WebAssembly.Memory {
    return this.exports.memory;
  }

  /** Views of the memory, made again only when growing it has replaced its buffer. */
  private refresh(): void {
    if (this.buffer === this.exports.memory.buffer) return;
    this.buffer = this.exports.memory.buffer;
    this.bytes = new Uint8Array(this.buffer);
    this.words = new Uint32Array(this.buffer, this.pointers, 512);
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

  /** outputs[j] = sum_i m[j][i] * inputs[i], for the whole length of the shards. */
  dot(m: PreparedMatrix, inputs: Uint8Array[], outputs: Uint8Array[], len: number): void {
    const nin = inputs.length;
    const nout = outputs.length;
    if (m.tables.length > this.tablesSize) {
      this.tablesAt = this.reserve(m.tables.length);
      this.tablesSize = m.tables.length;
      this.loaded = null;
    }
    const vecLen = len - (len % 32);
    // Offsets of resident shards, taken before a possible grow detaches their views; -1 for
    // shards from elsewhere, which are copied into scratch past the long-lived area.
    const memory = this.exports.memory.buffer;
    const offsets: number[] = new Array(nin + nout);
    const copied: boolean[] = new Array(nin + nout);
    let foreign = 0;
    for (let i = 0; i < nin + nout; i++) {
      const v = (i < nin ? inputs[i] : outputs[i - nin]) as Uint8Array;
      copied[i] = v.buffer !== memory;
      if (copied[i]) {
        offsets[i] = -1;
        foreign++;
      } else offsets[i] = v.byteOffset;
    }
    const stride = Math.ceil(len / ALIGN) * ALIGN;
    let next = Math.ceil(this.top / ALIGN) * ALIGN;
    if (foreign > 0) this.ensure(next + foreign * stride);
    this.refresh();
    const bytes = this.bytes;
    const words = this.words;
    if (this.loaded !== m) {
      bytes.set(m.tables, this.tablesAt);
      this.loaded = m;
    }
    for (let i = 0; i < nin + nout; i++) {
      if (!copied[i]) continue;
      if (i < nin) bytes.set((inputs[i] as Uint8Array).subarray(0, len), next);
      offsets[i] = next;
      next += stride;
    }
    for (let i = 0; i < nin; i++) words[i] = offsets[i] as number;
    if (vecLen > 0) {
      let tab = this.tablesAt;
      for (let g = 0; g < nout; g += GROUP) {
        const size = Math.min(GROUP, nout - g);
        for (let j = 0; j < size; j++) words[256 + j] = offsets[nin + g + j] as number;
        (this.dots[size - 1] as Dot)(tab, this.pointers, this.pointers + 1024, nin, vecLen);
        tab += size * nin * 32;
      }
    }
    if (vecLen < len) {
      const inViews = inputs.map((_, i) =>
        bytes.subarray(offsets[i], (offsets[i] as number) + len),
      );
      const outViews = outputs.map((_, j) =>
        bytes.subarray(offsets[nin + j], (offsets[nin + j] as number) + len),
      );
      dotProductTs(m.coefficients, inViews, outViews, vecLen, len);
    }
    for (let j = 0; j < nout; j++) {
      if (!copied[nin + j]) continue;
      const at = offsets[nin + j] as number;
      (outputs[j] as Uint8Array).set(bytes.subarray(at, at + len));
    }
  }
}

/**
 * Large buffers, reused. Each byte a process allocates in a buffer counts towards V8's next full
 * collection, whatever the buffer's lifetime: an 8 MiB PUT allocated 12 MiB of slices in the
 * writer, and the emulator as much again to receive them, and their collections cost more CPU
 * than their encoding (see the README, bench:dsn). A pool hands out views of buffers it
 * allocated, and takes them back once their holder is done with every byte; it never takes a
 * buffer it did not make, nor the same one twice. A pool made `shared` allocates
 * SharedArrayBuffers, whose bytes worker threads can read without a copy.
 */

/** Idle bytes a pool keeps by default; more are left to the garbage collector. */
const MAX_IDLE_BYTES = 64 * 1024 * 1024;

export class BufferPool {
  private readonly idle: ArrayBufferLike[] = [];
  private readonly idleSet = new WeakSet<ArrayBufferLike>();
  private readonly mine = new WeakSet<ArrayBufferLike>();
  private idleBytes = 0;
  /** Buffers allocated, and takes served by an idle one. */
  allocated = 0;
  reused = 0;

  /** Sizes are rounded up to a multiple of `granule`, so near sizes share buffers. */
  private readonly granule: number;
  private readonly maxIdleBytes: number;
  private readonly shared: boolean;

  constructor(
    granule = 64 * 1024,
    maxIdleBytes = MAX_IDLE_BYTES,
    options: { shared?: boolean } = {},
  ) {
    this.granule = granule;
    this.maxIdleBytes = maxIdleBytes;
    this.shared = options.shared ?? false;
  }

  /** A buffer of `size` bytes, not zeroed: an idle one of at most twice that, else a new one. */
  take(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.idle.length; i++) {
      const cap = (this.idle[i] as ArrayBufferLike).byteLength;
      if (
        cap >= size &&
        cap <= 2 * size &&
        (best < 0 || cap < (this.idle[best] as ArrayBufferLike).byteLength)
      )
        best = i;
    }
    let memory: ArrayBufferLike;
    if (best >= 0) {
      memory = this.idle.splice(best, 1)[0] as ArrayBufferLike;
      this.idleSet.delete(memory);
      this.idleBytes -= memory.byteLength;
      this.reused++;
    } else {
      const bytes = Math.max(1, Math.ceil(size / this.granule)) * this.granule;
      memory = this.shared ? new SharedArrayBuffer(bytes) : Buffer.allocUnsafeSlow(bytes).buffer;
      this.mine.add(memory);
      this.allocated++;
    }
    return Buffer.from(memory, 0, size);
  }

  /**
   * Takes back the buffer under `view` (one `take` returned): the caller must not touch it
   * again. Views of other memory, and a buffer already idle, are ignored.
   */
  give(view: Uint8Array): void {
    const memory = view.buffer;
    if (!this.mine.has(memory) || this.idleSet.has(memory)) return;
    if (this.idleBytes + memory.byteLength > this.maxIdleBytes) return;
    this.idle.push(memory);
    this.idleSet.add(memory);
    this.idleBytes += memory.byteLength;
  }
}

/**
 * An optional pool of worker threads for encoding many segments on several cores: a CLI
 * uploading a large file, a rebuild of a whole unit. Each worker has its own codec and kernel
 * (compiled once, on this thread, and shared), and keeps its shards in its kernel's memory.
 *
 * Only parity crosses back: the data shards returned are views of the segment, and the parity
 * shards views of one buffer the worker made. On the way out a segment is either copied into a
 * reused shared staging buffer (the default: the caller keeps its segment), or, with
 * `transfer: true`, moved to the worker and back with no copy. Staging buffers are reused
 * because a fresh multi-megabyte buffer per segment costs its page faults every time, which on
 * two cores made the pool slower than one thread.
 *
 * Not for Lambda bundles: the worker is a separate module file (pool-worker.ts), which a
 * single-file esbuild bundle does not carry. Functions encode on their one thread.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { shardSize } from './segment.ts';
import { wasmKernelModule } from './wasm-kernel.ts';

export interface CodecPool {
  readonly threads: number;
  /**
   * The n shards of one segment, as `encodeSegment` in shared/segment.ts gives them, computed on
   * the least busy worker. With `transfer: true` the segment's ArrayBuffer is moved to the
   * worker (it must be the segment's alone, and is unusable after the call) instead of copied.
   */
  encodeSegment(segment: Uint8Array, options?: { transfer?: boolean }): Promise<Uint8Array[]>;
  /** Stops the workers; calls in flight are rejected. */
  close(): Promise<void>;
}

const WORKER = fileURLToPath(new URL('./pool-worker.ts', import.meta.url));

interface Reply {
  id: number;
  segment?: ArrayBuffer;
  parity?: ArrayBuffer;
  error?: string;
}

/**
 * Starts `threads` workers (default: one per core) encoding `dataShards` + `parityShards`.
 *
 * @example
 * const pool = createCodecPool(10, 4);
 * const shards = await Promise.all(segments.map((s) => pool.encodeSegment(s)));
 * await pool.close();
 * @throws RangeError when threads is not an integer >= 1
 */
export function createCodecPool(
  dataShards: number,
  parityShards: number,
  options: { threads?: number } = {},
): CodecPool {
  for (const key of Object.keys(options)) {
    if (key !== 'threads') throw new RangeError(`unknown codec pool option "${key}"`);
  }
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1)
    throw new RangeError(`threads must be an integer >= 1, got ${threads}`);
  const kernel = wasmKernelModule() ?? undefined;
  const workers = Array.from(
    { length: threads },
    () => new Worker(WORKER, { workerData: { dataShards, parityShards, kernel } }),
  );
  const load = workers.map(() => 0);
  const pending = new Map<
    number,
    { resolve: (s: Uint8Array[]) => void; reject: (e: Error) => void; worker: number }
  >();
  let nextId = 0;
  let closed = false;
  /** Staging buffers not in use, and the one each call in flight holds. */
  const staging: SharedArrayBuffer[] = [];
  const held = new Map<number, { shared?: SharedArrayBuffer; segment: Uint8Array }>();
  const finish = (id: number) => {
    const h = held.get(id);
    held.delete(id);
    if (h?.shared) staging.push(h.shared);
    return h;
  };
  const failAll = (worker: number | undefined, err: Error) => {
    for (const [id, p] of pending) {
      if (worker === undefined || p.worker === worker) {
        pending.delete(id);
        finish(id);
        p.reject(err);
      }
    }
  };
  workers.forEach((w, i) => {
    w.on('message', (msg: Reply) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      const sent = finish(msg.id);
      load[i] = (load[i] as number) - 1;
      // An idle pool does not keep the process alive; a busy worker does.
      if (load[i] === 0) w.unref();
      if (msg.error !== undefined) {
        p.reject(new Error(`codec pool worker ${i}: ${msg.error}`));
        return;
      }
      const segment = msg.segment ? new Uint8Array(msg.segment) : (sent?.segment as Uint8Array);
      const size = shardSize(segment.length, dataShards);
      const shards: Uint8Array[] = [];
      for (let d = 0; d < dataShards; d++) {
        const start = d * size;
        if (start + size <= segment.length) shards.push(segment.subarray(start, start + size));
        else {
          const padded = new Uint8Array(size);
          padded.set(segment.subarray(Math.min(start, segment.length)));
          shards.push(padded);
        }
      }
      for (let j = 0; j < parityShards; j++)
        shards.push(new Uint8Array(msg.parity as ArrayBuffer, j * size, size));
      p.resolve(shards);
    });
    w.on('error', (err) => failAll(i, err));
    w.unref();
  });
  return {
    threads,
    encodeSegment(segment, opts = {}) {
      if (closed) return Promise.reject(new Error('codec pool is closed'));
      let w = 0;
      for (let i = 1; i < threads; i++) if ((load[i] as number) < (load[w] as number)) w = i;
      load[w] = (load[w] as number) + 1;
      (workers[w] as Worker).ref();
      const id = nextId++;
      const movable =
        opts.transfer === true &&
        segment.buffer instanceof ArrayBuffer &&
        segment.byteOffset === 0 &&
        segment.byteLength === segment.buffer.byteLength;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, worker: w });
        const worker = workers[w] as Worker;
        const length = segment.length;
        if (movable) {
          held.set(id, { segment });
          worker.postMessage({ id, segment: segment.buffer, length }, [
            segment.buffer as ArrayBuffer,
          ]);
          return;
        }
        let shared = staging.pop();
        if (!shared || shared.byteLength < length) {
          shared = new SharedArrayBuffer(Math.max(length, 1));
        }
        new Uint8Array(shared, 0, length).set(segment);
        held.set(id, { shared, segment });
        worker.postMessage({ id, segment: shared, length });
      });
    },
    async close() {
      closed = true;
      failAll(undefined, new Error('codec pool closed with the call in flight'));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * An optional pool of worker threads for encoding many segments on several cores (a CLI
 * uploading a large file, a rebuild). Each worker has its own codec; segments are copied to the
 * worker and the shards transferred back without copying.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { wasmKernelModule } from './wasm-kernel.ts';

export interface CodecPool {
  readonly threads: number;
  /** The n shards of one segment (as encodeSegment), computed on some worker. */
  encodeSegment(segment: Uint8Array): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

const WORKER = fileURLToPath(new URL('./pool-worker.ts', import.meta.url));

export function createCodecPool(
  dataShards: number,
  parityShards: number,
  options: { threads?: number } = {},
): CodecPool {
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
  workers.forEach((w, i) => {
    w.on('message', (msg: { id: number; shards?: Uint8Array[]; error?: string }) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      load[i] = (load[i] as number) - 1;
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.shards as Uint8Array[]);
    });
    w.on('error', (err) => {
      for (const [id, p] of pending) {
        if (p.worker === i) {
          pending.delete(id);
          p.reject(err);
        }
      }
    });
  });
  return {
    threads,
    encodeSegment(segment) {
      // The least busy worker takes it.
      let w = 0;
      for (let i = 1; i < threads; i++) if ((load[i] as number) < (load[w] as number)) w = i;
      load[w] = (load[w] as number) + 1;
      const id = nextId++;
      // A copy with its own ArrayBuffer: a Buffer may share one with others, and `slice` on a
      // Buffer is a view.
      const copy = new Uint8Array(segment);
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, worker: w });
        (workers[w] as Worker).postMessage({ id, segment: copy.buffer }, [copy.buffer]);
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

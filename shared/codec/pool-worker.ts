/**
 * One thread of a CodecPool. It keeps one set of shards in its kernel's memory, so a segment is
 * copied in once, encoded with no further copy, and only the parity leaves it: the data shards
 * go back as views of the segment the caller sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createCodec } from './reed-solomon.ts';
import { shardSize } from './segment.ts';
import { type WasmVariant, wasmKernelModule } from './wasm-kernel.ts';

const { dataShards, parityShards, kernel } = workerData as {
  dataShards: number;
  parityShards: number;
  kernel?: { module: WebAssembly.Module; variant: WasmVariant };
};
if (kernel) wasmKernelModule(kernel);
const codec = createCodec(dataShards, parityShards);
const port = parentPort;
if (!port) throw new Error('pool-worker must run in a worker thread');

let workspace: Uint8Array[] = [];
let capacity = -1;

port.on(
  'message',
  ({
    id,
    segment,
    length,
  }: {
    id: number;
    segment: ArrayBuffer | SharedArrayBuffer;
    length: number;
  }) => {
    try {
      const bytes = new Uint8Array(segment, 0, length);
      const size = shardSize(bytes.length, dataShards);
      if (size > capacity || (workspace[0]?.buffer as ArrayBuffer | undefined)?.detached) {
        workspace = codec.allocShards(size);
        capacity = size;
      }
      const shards = workspace.map((s) => s.subarray(0, size));
      for (let i = 0; i < dataShards; i++) {
        const shard = shards[i] as Uint8Array;
        const part = bytes.subarray(Math.min(i * size, bytes.length), (i + 1) * size);
        shard.set(part);
        shard.fill(0, part.length);
      }
      codec.encode(shards);
      const parity = new Uint8Array(parityShards * size);
      for (let j = 0; j < parityShards; j++)
        parity.set(shards[dataShards + j] as Uint8Array, j * size);
      // A shared staging buffer stays with the pool; a transferred segment goes back to it.
      if (segment instanceof SharedArrayBuffer) {
        port.postMessage({ id, parity: parity.buffer }, [parity.buffer]);
      } else port.postMessage({ id, segment, parity: parity.buffer }, [segment, parity.buffer]);
    } catch (err) {
      port.postMessage({ id, error: (err as Error).message });
    }
  },
);

/** One thread of a CodecPool: encodes the segments it is sent with its own codec. */
import { parentPort, workerData } from 'node:worker_threads';
import { encodeSegment } from '../segment.ts';
import { createCodec } from './index.ts';
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

port.on('message', ({ id, segment }: { id: number; segment: ArrayBuffer }) => {
  try {
    // Shards are copied out of the segment so that every one can be transferred back.
    const shards = encodeSegment(codec, new Uint8Array(segment)).map((s) => new Uint8Array(s));
    port.postMessage(
      { id, shards },
      shards.map((s) => s.buffer),
    );
  } catch (err) {
    port.postMessage({ id, error: (err as Error).message });
  }
});

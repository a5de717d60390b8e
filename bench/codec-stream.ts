/**
 * The streaming side of `npm run bench:codec`: memory of encoding a 1 GiB stream, and the
 * worker pool's speed-up on many segments against one thread, measured in the same run.
 */
import { randomFillSync } from 'node:crypto';
import { createCodec } from '../shared/codec/index.ts';
import { createCodecPool } from '../shared/codec/pool.ts';
import { encodeSegment } from '../shared/codec/segment.ts';
import { encodeStream } from '../shared/codec/segment-stream.ts';
import { objectIdOf } from '../shared/store/revision.ts';

const MiB = 1024 * 1024;

async function* oneGiB(chunk: Uint8Array) {
  for (let sent = 0; sent < 1024 * MiB; sent += chunk.length) yield chunk;
}

/** Prints the streamed 1 GiB encode (RSS, speed) and the pool against one thread. */
export async function streamBench(): Promise<void> {
  const codec = createCodec(4, 2);
  const chunk = randomFillSync(new Uint8Array(MiB));
  const name = (segment: number, pillar: number) => ({
    vault: 'default',
    objectId: objectIdOf('default', 'bench'),
    revision: '0000mhx3k2a1b2c3d4e5f6a7b8',
    segment,
    pillar,
  });
  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const start = performance.now();
  const stream = encodeStream(oneGiB(chunk), { codec, segmentSize: 4 * MiB, name });
  let slicesBytes = 0;
  for await (const seg of stream) {
    for (const s of seg.slices) slicesBytes += s.length;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - start) / 1000;
  const growth = (peak - baseline) / MiB;
  console.log('\n| streamed encode, 1 GiB, 4+2, 4 MiB segments | value | target |');
  console.log('| --- | ---: | --- |');
  console.log(
    `| RSS growth (peak - start) | ${growth.toFixed(0)} MB | < 200 MB ${growth < 200 ? 'met' : 'MISSED'} |`,
  );
  console.log(
    `| throughput (cut, hash, encode, frame slices) | ${(1.073741824 / seconds).toFixed(2)} GB/s | |`,
  );
  console.log(`| slice bytes out | ${(slicesBytes / MiB).toFixed(0)} MiB | 1.5x in |`);

  const segments = Array.from({ length: 48 }, () => randomFillSync(new Uint8Array(4 * MiB)));
  const single = createCodec(10, 4);
  for (const s of segments.slice(0, 8)) encodeSegment(single, s);
  let t = performance.now();
  for (const s of segments) encodeSegment(single, s);
  const one = (segments.length * 4 * MiB) / ((performance.now() - t) / 1000) / 1e9;
  const pool = createCodecPool(10, 4);
  // A pipeline keeps a few segments in flight per thread, as an upload would.
  const run = async (list: Uint8Array[], transfer: boolean) => {
    let next = 0;
    const lane = async () => {
      while (next < list.length) await pool.encodeSegment(list[next++] as Uint8Array, { transfer });
    };
    await Promise.all(Array.from({ length: pool.threads * 2 }, lane));
  };
  // Each worker's WebAssembly starts in V8's baseline tier; warm it to the optimizing tier first.
  await run(segments, false);
  t = performance.now();
  await run(segments, false);
  const copied = (segments.length * 4 * MiB) / ((performance.now() - t) / 1000) / 1e9;
  const handed = segments.map((s) => new Uint8Array(s));
  t = performance.now();
  await run(handed, true);
  const moved = (segments.length * 4 * MiB) / ((performance.now() - t) / 1000) / 1e9;
  await pool.close();
  console.log(`\n| 48 segments of 4 MiB, 10+4 | GB/s | vs one thread |`);
  console.log('| --- | ---: | ---: |');
  console.log(`| one thread (encodeSegment) | ${one.toFixed(2)} | 1.00x |`);
  console.log(
    `| worker pool, ${pool.threads} threads, segments copied | ${copied.toFixed(2)} | ${(copied / one).toFixed(2)}x |`,
  );
  console.log(
    `| worker pool, ${pool.threads} threads, segments transferred | ${moved.toFixed(2)} | ${(moved / one).toFixed(2)}x |`,
  );
}

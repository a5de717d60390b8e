/**
 * `npm run bench:codec`: this project's Reed-Solomon codec against @ronomon/reed-solomon
 * (native C), measured side by side in the same run, plus the slice checksum and the memory of
 * a streamed 1 GiB encode.
 *
 * Throughput is GB/s of data in (k x shard size per call). Each figure is the median of five
 * timed rounds of at least 300 ms, after a warm-up. ronomon runs in libuv's threadpool and is
 * awaited call by call, as a caller needing the result would use it. ronomon's 10+4 uses a
 * different field construction; its speed, not its bytes, is what is compared.
 */
import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';
import { type Codec, createCodec } from '../shared/codec/index.ts';
import { streamRss } from './codec-stream.ts';

const require = createRequire(import.meta.url);

interface Ronomon {
  create(k: number, m: number): unknown;
  encode(
    context: unknown,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    callback: (error?: Error) => void,
  ): void;
}

function loadRonomon(): { lib?: Ronomon; why?: string } {
  try {
    return { lib: require('@ronomon/reed-solomon') as Ronomon };
  } catch (err) {
    return { why: `@ronomon/reed-solomon did not load: ${(err as Error).message.split('\n')[0]}` };
  }
}

async function measure(op: () => void | Promise<void>, bytesPerOp: number): Promise<number> {
  for (let i = 0; i < 20; i++) await op();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    let ops = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < 300) {
      for (let i = 0; i < 8; i++) await op();
      ops += 8;
      elapsed = performance.now() - start;
    }
    rounds.push((ops * bytesPerOp) / (elapsed / 1000) / 1e9);
  }
  rounds.sort((a, b) => a - b);
  return rounds[2] as number;
}

function filledShards(codec: Codec, size: number, resident: boolean): Uint8Array[] {
  const shards = resident
    ? codec.allocShards(size)
    : [...Array(codec.totalShards)].map(() => new Uint8Array(size));
  for (let i = 0; i < codec.dataShards; i++) randomFillSync(shards[i] as Uint8Array);
  return shards;
}

type Row = {
  name: string;
  ours: number;
  ts?: number;
  peer?: number;
  target?: string;
  met?: boolean;
};

async function encodeCase(k: number, m: number, size: number, ronomon?: Ronomon): Promise<Row> {
  const codec = createCodec(k, m);
  const shards = filledShards(codec, size, true);
  const ours = await measure(() => codec.encode(shards), k * size);
  const tsCodec = createCodec(k, m, { kernel: 'typescript' });
  const tsShards = filledShards(tsCodec, size, false);
  const ts = await measure(() => tsCodec.encode(tsShards), k * size);
  let peer: number | undefined;
  if (ronomon) {
    const context = ronomon.create(k, m);
    const buffer = Buffer.alloc(size * k);
    randomFillSync(buffer);
    const parity = Buffer.alloc(size * m);
    let sources = 0;
    let targets = 0;
    for (let i = 0; i < k; i++) sources |= 1 << i;
    for (let i = k; i < k + m; i++) targets |= 1 << i;
    peer = await measure(
      () =>
        new Promise<void>((resolve, reject) =>
          ronomon.encode(
            context,
            sources,
            targets,
            buffer,
            0,
            buffer.length,
            parity,
            0,
            parity.length,
            (e) => (e ? reject(e) : resolve()),
          ),
        ),
      k * size,
    );
  }
  return {
    name: `encode ${k}+${m}, ${size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`} shards`,
    ours,
    ts,
    peer,
  };
}

async function reconstructCase(size: number, ronomon?: Ronomon): Promise<Row> {
  const k = 10;
  const m = 4;
  const lost = [0, 1, 2, 3];
  const codec = createCodec(k, m);
  const shards = filledShards(codec, size, true);
  codec.encode(shards);
  // The lost shards' arrays are rebuilt in place, as ronomon rebuilds its targets in place.
  const ours = await measure(() => codec.reconstruct(shards, { rebuild: lost }), k * size);
  const tsCodec = createCodec(k, m, { kernel: 'typescript' });
  const tsShards = filledShards(tsCodec, size, false);
  tsCodec.encode(tsShards);
  const ts = await measure(() => {
    tsCodec.reconstruct(tsShards.map((s, i) => (lost.includes(i) ? null : s)));
  }, k * size);
  let peer: number | undefined;
  if (ronomon) {
    const context = ronomon.create(k, m);
    const buffer = Buffer.alloc(size * k);
    randomFillSync(buffer);
    const parity = Buffer.alloc(size * m);
    let sources = 0;
    let targets = 0;
    for (let i = 0; i < k + m; i++) {
      if (lost.includes(i)) targets |= 1 << i;
      else sources |= 1 << i;
    }
    peer = await measure(
      () =>
        new Promise<void>((resolve, reject) =>
          ronomon.encode(
            context,
            sources,
            targets,
            buffer,
            0,
            buffer.length,
            parity,
            0,
            parity.length,
            (e) => (e ? reject(e) : resolve()),
          ),
        ),
      k * size,
    );
  }
  return { name: `reconstruct 4 data of 10+4, ${size >> 20} MiB shards`, ours, ts, peer };
}

function checksumSpeed(size: number): number {
  const buf = Buffer.alloc(size);
  randomFillSync(buf);
  let c = 0;
  for (let i = 0; i < 20; i++) c = crc32(buf, c);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    let ops = 0;
    const start = performance.now();
    while (performance.now() - start < 300) {
      c = crc32(buf, c);
      ops++;
    }
    rounds.push((ops * size) / ((performance.now() - start) / 1000) / 1e9);
  }
  return rounds.sort((a, b) => a - b)[2] as number;
}

const f = (x?: number) => (x === undefined ? '   -  ' : x.toFixed(2).padStart(6));

async function main() {
  const { lib: ronomon, why } = loadRonomon();
  console.log(
    `codec kernel: ${createCodec(10, 4).kernel}; Node ${process.version}; peer: ${ronomon ? '@ronomon/reed-solomon (native C)' : `MISSING - ${why}`}`,
  );
  if (!ronomon)
    console.log('!! no peer: ratios cannot be computed; fix the install of @ronomon/reed-solomon');
  const rows: Row[] = [];
  const targets: Record<string, [number, string]> = {
    'encode 10+4, 64 KiB shards': [1.5, '>= 1.5x'],
    'encode 4+2, 64 KiB shards': [2, '>= 2x'],
  };
  for (const [k, m, size] of [
    [10, 4, 64 << 10],
    [10, 4, 1 << 20],
    [4, 2, 64 << 10],
    [4, 2, 1 << 20],
  ] as const) {
    const row = await encodeCase(k, m, size, ronomon);
    const target = targets[row.name];
    if (target && row.peer) {
      row.target = target[1];
      row.met = row.ours / row.peer >= target[0];
    }
    rows.push(row);
  }
  const rec = await reconstructCase(1 << 20, ronomon);
  if (rec.peer) {
    rec.target = 'time <= 0.7x';
    rec.met = rec.peer / rec.ours <= 0.7;
  }
  rows.push(rec);

  console.log('\n| case | dsn GB/s | ronomon GB/s | ratio | target | dsn pure-TS GB/s |');
  console.log('| --- | ---: | ---: | ---: | --- | ---: |');
  for (const r of rows) {
    const ratio = r.peer ? r.ours / r.peer : undefined;
    const ratioText =
      ratio === undefined
        ? '-'
        : r.name.startsWith('reconstruct')
          ? `${ratio.toFixed(2)}x (time ${(1 / ratio).toFixed(2)}x)`
          : `${ratio.toFixed(2)}x`;
    const target = r.target ? `${r.target} ${r.met ? 'met' : 'MISSED'}` : '';
    console.log(
      `| ${r.name} | ${f(r.ours)} | ${f(r.peer)} | ${ratioText} | ${target} | ${f(r.ts)} |`,
    );
  }
  console.log('\n| slice checksum (CRC32, node:zlib) | GB/s | target |');
  console.log('| --- | ---: | --- |');
  for (const size of [64 << 10, 1 << 20]) {
    const s = checksumSpeed(size);
    console.log(
      `| ${size >= 1 << 20 ? '1 MiB' : '64 KiB'} buffers | ${f(s)} | >= 5 ${s >= 5 ? 'met' : 'MISSED'} |`,
    );
  }
  await streamRss();
}

await main();

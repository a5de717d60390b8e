/**
 * `npm run bench:codec`: this project's Reed-Solomon codec against @ronomon/reed-solomon (native
 * C, the peer), measured side by side in the same run, plus the slice checksum, the memory of a
 * streamed 1 GiB encode and the worker pool (bench/codec-stream.ts).
 *
 * Throughput is GB/s of data in (k x shard size per call). Ours and the peer's rounds alternate
 * (ours, peer, ours, peer...) so that both see the same machine: other work on a shared host
 * slows both alike instead of skewing the ratio. Each speed is the median of seven rounds of at
 * least 250 ms, after a warm-up, and each ratio the median of the seven paired rounds' ratios,
 * so a burst of load that hits one round pair moves neither. ronomon runs in libuv's threadpool and is awaited call by
 * call, as a caller needing the result uses it. ronomon's 10+4 uses a different field
 * construction; its speed, not its bytes, is compared.
 *
 * The peer missing (no prebuilt binding.node and no node-gyp) is printed at the top and bottom
 * and makes the process exit with code 2: it never compares against nothing.
 */
import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { crc32 } from '../shared/codec/checksum.ts';
import { type Codec, createCodec } from '../shared/codec/index.ts';
import { streamBench } from './codec-stream.ts';

const require = createRequire(import.meta.url);
const ROUNDS = 7;
const ROUND_MS = 250;

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

type Op = () => void | Promise<void>;

async function round(op: Op, bytesPerOp: number): Promise<number> {
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ROUND_MS) {
    for (let i = 0; i < 4; i++) await op();
    ops += 4;
    elapsed = performance.now() - start;
  }
  return (ops * bytesPerOp) / (elapsed / 1000) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** GB/s of each round of each op, their rounds interleaved. */
async function interleaved(ops: Op[], bytesPerOp: number, rounds = ROUNDS): Promise<number[][]> {
  for (const op of ops) for (let i = 0; i < 30; i++) await op();
  const results: number[][] = ops.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let o = 0; o < ops.length; o++) {
      (results[o] as number[]).push(await round(ops[o] as Op, bytesPerOp));
    }
  }
  return results;
}

function filledShards(codec: Codec, size: number, resident: boolean): Uint8Array[] {
  const shards = resident
    ? codec.allocShards(size)
    : [...Array(codec.totalShards)].map(() => new Uint8Array(size));
  for (let i = 0; i < codec.dataShards; i++) randomFillSync(shards[i] as Uint8Array);
  return shards;
}

/** One ronomon call computing `targets` from `sources` (bit masks over k + m shards). */
function ronomonOp(ronomon: Ronomon, k: number, m: number, size: number, lost?: number[]): Op {
  const context = ronomon.create(k, m);
  const buffer = randomFillSync(Buffer.alloc(size * k));
  const parity = Buffer.alloc(size * m);
  let sources = 0;
  let targets = 0;
  for (let i = 0; i < k + m; i++) {
    const target = lost ? lost.includes(i) : i >= k;
    if (target) targets |= 2 ** i;
    else sources |= 2 ** i;
  }
  return () =>
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
    );
}

interface Row {
  name: string;
  ours: number;
  peer?: number;
  /** Median of the paired rounds' ours/peer ratios. */
  ratio?: number;
  ts: number;
  /** Minimum ours/peer speed ratio. */
  target?: number;
  targetText?: string;
}

const sizeName = (size: number) => (size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`);

async function encodeCase(
  k: number,
  m: number,
  size: number,
  ronomon: Ronomon | undefined,
): Promise<Row> {
  const codec = createCodec(k, m);
  const shards = filledShards(codec, size, true);
  const ours: Op = () => codec.encode(shards);
  const ops = ronomon ? [ours, ronomonOp(ronomon, k, m, size)] : [ours];
  const [o, p] = await interleaved(ops, k * size);
  const tsCodec = createCodec(k, m, { kernel: 'typescript' });
  const tsShards = filledShards(tsCodec, size, false);
  const [ts] = await interleaved([() => tsCodec.encode(tsShards)], k * size, 3);
  return summarize(`encode ${k}+${m}, ${sizeName(size)} shards`, o, p, ts);
}

function summarize(name: string, o?: number[], p?: number[], ts?: number[]): Row {
  return {
    name,
    ours: median(o as number[]),
    peer: p ? median(p) : undefined,
    ratio: p ? median((o as number[]).map((x, i) => x / (p[i] as number))) : undefined,
    ts: median(ts as number[]),
  };
}

async function reconstructCase(size: number, ronomon: Ronomon | undefined): Promise<Row> {
  const k = 10;
  const m = 4;
  const lost = [0, 1, 2, 3];
  const codec = createCodec(k, m);
  const shards = filledShards(codec, size, true);
  codec.encode(shards);
  // The lost shards' arrays are rebuilt in place, as ronomon rebuilds its targets in place.
  const ours: Op = () => codec.reconstruct(shards, { rebuild: lost });
  const ops = ronomon ? [ours, ronomonOp(ronomon, k, m, size, lost)] : [ours];
  const [o, p] = await interleaved(ops, k * size);
  const tsCodec = createCodec(k, m, { kernel: 'typescript' });
  const tsShards = filledShards(tsCodec, size, false);
  tsCodec.encode(tsShards);
  const [ts] = await interleaved(
    [() => tsCodec.reconstruct(tsShards.map((s, i) => (lost.includes(i) ? null : s)))],
    k * size,
    3,
  );
  return summarize(`reconstruct 4 lost data of 10+4, ${sizeName(size)} shards`, o, p, ts);
}

async function checksumSpeed(size: number): Promise<number> {
  const buf = randomFillSync(Buffer.alloc(size));
  let c = 0;
  const [speed] = await interleaved(
    [
      () => {
        c = crc32(buf, c);
      },
    ],
    size,
    5,
  );
  return median(speed as number[]);
}

const f = (x?: number) => (x === undefined ? '-' : x.toFixed(2));

async function main() {
  const { lib: ronomon, why } = loadRonomon();
  const peerLine = ronomon
    ? 'peer: @ronomon/reed-solomon (native C, prebuilt binding.node)'
    : `PEER MISSING: ${why}. No ratio is computed.`;
  console.log(
    `bench:codec: Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x ${cpus().length}, kernel ${createCodec(10, 4).kernel}`,
  );
  console.log(peerLine);

  const rows: Row[] = [];
  const cases: Array<[number, number, number, number?, string?]> = [
    [10, 4, 64 << 10, 1.5, 'speed >= 1.5x'],
    [10, 4, 1 << 20],
    [4, 2, 64 << 10, 2, 'speed >= 2x'],
    [4, 2, 1 << 20],
  ];
  for (const [k, m, size, target, targetText] of cases) {
    rows.push({ ...(await encodeCase(k, m, size, ronomon)), target, targetText });
  }
  for (const size of [64 << 10, 1 << 20]) {
    const row = await reconstructCase(size, ronomon);
    // Time <= 0.7x the peer's is speed >= 1/0.7 of it.
    if (size === 1 << 20) Object.assign(row, { target: 1 / 0.7, targetText: 'time <= 0.7x' });
    rows.push(row);
  }

  console.log('\n| case | dsn GB/s | ronomon GB/s | dsn / ronomon | target | dsn pure-TS GB/s |');
  console.log('| --- | ---: | ---: | ---: | --- | ---: |');
  for (const r of rows) {
    const ratio = r.ratio;
    let ratioText = '-';
    if (ratio !== undefined) {
      ratioText = `${ratio.toFixed(2)}x`;
      if (r.name.startsWith('reconstruct')) ratioText += ` (time ${(1 / ratio).toFixed(2)}x)`;
    }
    let target = '';
    if (r.targetText) {
      const verdict =
        ratio === undefined ? 'NOT MEASURED' : ratio >= (r.target as number) ? 'met' : 'MISSED';
      target = `${r.targetText}: ${verdict}`;
    }
    console.log(
      `| ${r.name} | ${f(r.ours)} | ${f(r.peer)} | ${ratioText} | ${target} | ${f(r.ts)} |`,
    );
  }

  console.log('\n| slice checksum (CRC-32, node:zlib) | GB/s | target |');
  console.log('| --- | ---: | --- |');
  for (const size of [64 << 10, 1 << 20]) {
    const s = await checksumSpeed(size);
    console.log(`| ${sizeName(size)} buffers | ${f(s)} | >= 5: ${s >= 5 ? 'met' : 'MISSED'} |`);
  }

  await streamBench();

  if (!ronomon) {
    console.log(`\n${peerLine}`);
    process.exitCode = 2;
  }
}

await main();

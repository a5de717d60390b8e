/**
 * `npm run bench:dsn`: the store on the local cloud against raw S3 calls to the same emulator,
 * measured side by side in one run.
 *
 * - PUT of 8 MiB objects: the whole seed-000 write (encode, slices to six unit buckets, one
 *   multicast per segment, unit verification, statuses, committer, index) against one raw
 *   PutObject of the same bytes. It includes the n/k = 1.5x write amplification. The writer
 *   runs in this process (8 MiB is above what one API Gateway request carries; the HTTP path
 *   for such objects is the staged upload).
 * - GET of 8 MiB objects: the reader (index, k slices per segment, checks, decode) against
 *   GetObject.
 * - Small PUT (4 KiB) through the HTTP API, to commit: p50 and p99.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startBenchCloud } from './local-cloud.ts';

const MiB = 1024 * 1024;
const WARM_ROUNDS = 8;
const { cloud, s3, api, stop } = await startBenchCloud('dsn-bench');
const { wireDeployment } = await import('../shared/aws/deployment.ts');
const { writeObject } = await import('../shared/writer.ts');
const { openObject } = await import('../shared/reader.ts');
const d = wireDeployment();
const rawBucket = cloud.ref('Unit7Bucket');

try {
  // Warm every function's execution environment (first invocations load the SDK).
  await api('/vaults');
  const objects = Array.from({ length: 8 }, () => randomBytes(8 * MiB));
  const writerDeps = {
    ...d.committer,
    vaults: d.vaults,
    slices: d.slices,
    multicast: d.multicast,
    pendingTimeoutMs: 900_000,
  };
  async function* once(b: Uint8Array) {
    yield b;
  }
  // A PUT answers once its write is visible; the committer's last tasks (event, done mark) may
  // still run. They finish, untimed, before the raw PUT, which would otherwise pay for them.
  const settle = async (revision: string) => {
    while (!(await d.ledger.get(revision))?.tasksDone) await new Promise((r) => setTimeout(r, 5));
  };
  const putOurs = async (key: string, body: Uint8Array) => {
    const out = await writeObject(writerDeps, 'default', key, once(body), { waitMs: 60_000 });
    if (out.state !== 'committed') throw new Error(`PUT ${key} ended ${out.state}`);
    return out.revision;
  };
  const putRaw = (key: string, body: Uint8Array) =>
    s3.send(new PutObjectCommand({ Bucket: rawBucket, Key: key, Body: body }));
  // Both sides warm up alike: a function's execution environment compiles its hot paths over
  // its first few dozen invocations, as those of a running deployment long have.
  for (let i = 0; i < WARM_ROUNDS; i++) {
    const body = objects[i % objects.length] as Uint8Array;
    await settle(await putOurs(`warm/${i}`, body));
    await putRaw(`warm/${i}`, body);
  }

  const time = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return (performance.now() - t) / 1000;
  };
  /** CPU of this whole process (emulators, functions, clients) while `f` runs, in ms. */
  const cpu = async (f: () => Promise<unknown>) => {
    const before = process.cpuUsage();
    await f();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  let oursPut = 0;
  let rawPut = 0;
  let oursCpu = 0;
  let rawCpu = 0;
  for (const [i, body] of objects.entries()) {
    let revision = '';
    oursCpu += await cpu(async () => {
      oursPut += await time(async () => {
        revision = await putOurs(`bench/${i}`, body);
      });
      await settle(revision);
    });
    rawCpu += await cpu(async () => {
      rawPut += await time(() => putRaw(`raw/${i}`, body));
    });
  }
  const readerDeps = {
    index: d.index,
    slices: d.slices,
    repair: d.repair,
    hedgeMs: 250,
  };
  let oursGet = 0;
  let rawGet = 0;
  for (let round = 0; round < 2; round++) {
    for (const [i, body] of objects.entries()) {
      oursGet += await time(async () => {
        const o = await openObject(readerDeps, 'default', `bench/${i}`);
        let n = 0;
        for await (const part of o.body) n += part.length;
        if (n !== body.length) throw new Error('short read');
      });
      rawGet += await time(async () => {
        const out = await s3.send(new GetObjectCommand({ Bucket: rawBucket, Key: `raw/${i}` }));
        await out.Body?.transformToByteArray();
      });
    }
  }
  const mb = (n: number, s: number) => (n * 8 * MiB) / MiB / s;
  const putOursMb = mb(objects.length, oursPut);
  const putRawMb = mb(objects.length, rawPut);
  const getOurs = mb(objects.length * 2, oursGet);
  const getRaw = mb(objects.length * 2, rawGet);

  const small = randomBytes(4096);
  for (let i = 0; i < 20; i++)
    await api(`/vaults/default/objects/small/warm-${i}`, { method: 'PUT', body: small });
  const latencies: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    const res = await api(`/vaults/default/objects/small/${i}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: small,
    });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`small PUT ${i}: ${res.status}`);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length * 0.5)] as number;
  const p99 = latencies[Math.floor(latencies.length * 0.99)] as number;

  // Writer memory on a staged 1 GiB object: parts staged directly, then dispersed by a child
  // process that runs the writer alone, so its RSS is the writer's. The upload is marked
  // complete without being queued, so the child, not the disperser function, runs it.
  const gib = 1024 * MiB;
  const part = randomBytes(4 * MiB);
  const created = await api('/vaults/default/uploads', {
    method: 'POST',
    body: JSON.stringify({ key: 'bench/1gib.bin' }),
  });
  const { uploadId } = (await created.json()) as { uploadId: string };
  for (let p = 1; p <= gib / part.length; p++) await d.staging.putPart(uploadId, p, part);
  await d.uploads.transition(uploadId, ['open'], {
    state: 'dispersing',
    parts: gib / part.length,
    size: gib,
  });
  // Asynchronous: this process serves the emulators the child talks to.
  const child = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    const p = spawn(
      process.execPath,
      [fileURLToPath(new URL('./dsn-disperse.ts', import.meta.url)), uploadId],
      {
        env: { ...process.env },
      },
    );
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => {
      stdout += c;
    });
    p.stderr.on('data', (c) => {
      stderr += c;
    });
    p.on('close', () => resolve({ stdout, stderr }));
  });
  const stats = JSON.parse(child.stdout || '{}') as {
    state?: string;
    seconds?: number;
    baseline?: number;
    peak?: number;
  };
  // The 1 GiB object read back through the reader, streamed, and compared by SHA-256 with
  // what was staged: the byte-exact round trip at this size.
  let roundTrip = 'not read';
  if (stats.state === 'committed') {
    const expected = createHash('sha256');
    for (let p = 0; p < gib / part.length; p++) expected.update(part);
    const got = createHash('sha256');
    let bytes = 0;
    const opened = await openObject(
      { index: d.index, slices: d.slices, repair: d.repair, hedgeMs: 250 },
      'default',
      'bench/1gib.bin',
    );
    for await (const chunk of opened.body) {
      got.update(chunk);
      bytes += chunk.length;
    }
    roundTrip =
      bytes === gib && got.digest('hex') === expected.digest('hex')
        ? 'read back byte-exact'
        : `READ BACK DIFFERS (${bytes} bytes)`;
  }

  console.log(
    `dsn on the local cloud (fauxqs, dynalite), Node ${process.version}; vault default: 4-of-6, T = 5, 4 MiB segments\n`,
  );
  console.log('| measure | dsn | raw S3 on the same emulator | ratio | target |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  const row = (name: string, ours: number, peer: number, target: number) =>
    console.log(
      `| ${name} | ${ours.toFixed(0)} MB/s | ${peer.toFixed(0)} MB/s | ${(ours / peer).toFixed(2)}x | >= ${target}x ${ours / peer >= target ? 'met' : 'MISSED'} |`,
    );
  row('PUT, 8 MiB objects, to commit', putOursMb, putRawMb, 0.5);
  console.log(
    `| CPU per 8 MiB PUT, all threads of this process (emulators, functions, client) | ${(oursCpu / objects.length).toFixed(0)} ms | ${(rawCpu / objects.length).toFixed(0)} ms | ${(rawCpu / oursCpu).toFixed(2)}x | |`,
  );
  row('GET, 8 MiB objects', getOurs, getRaw, 0.8);
  console.log(
    `| small PUT (4 KiB) over HTTP, to commit | p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms | | | p50 <= 100 ms ${p50 <= 100 ? 'met' : 'MISSED'} |`,
  );
  if (stats.peak && stats.baseline) {
    const rss = stats.peak / MiB;
    const speed = gib / MiB / (stats.seconds ?? 1);
    console.log(
      `| writer RSS, staged upload of 1 GiB (${stats.state}, ${speed.toFixed(0)} MB/s, ${roundTrip}) | peak ${rss.toFixed(0)} MB (at start ${(stats.baseline / MiB).toFixed(0)} MB) | | | < 512 MB ${rss < 512 ? 'met' : 'MISSED'} |`,
    );
  } else {
    console.log(
      `| writer RSS, staged upload of 1 GiB | failed: ${child.stderr.slice(-400)} | | | < 512 MB |`,
    );
  }
} finally {
  await stop();
}

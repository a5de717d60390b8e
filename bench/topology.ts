/**
 * `npm run bench:topology`: what changing a vault's topology costs, against named peers measured
 * in the same run on the same local cloud.
 *
 * - Replacement: a 4-of-6 vault (8 MiB segments, 4 MiB objects) of DSN_BENCH_TOPOLOGY_MIB MiB (32 by default;
 *   256 for the issue's figure) has unit 3 replaced by unit 7 through the API; the topology
 *   function moves the pillar's slices. Its rate is slice bytes moved per second spent moving
 *   (`moveMs`); the whole job also waits out the units' grace for writes begun under the old
 *   topology, printed apart. The peer copies as many bytes of slice objects GetObject + PutObject
 *   one at a time from this process (bench:repair's plain copy).
 * - Re-stripe: the same objects re-encoded 4-of-6 to 6-of-9 (the pool has 9 home units), in object
 *   bytes per second spent moving; the peer is a dsn GET then PUT of every object through the API,
 *   under the same ranged reads as the job.
 * - p99 latency of 64 KiB ranged reads through the API, before the jobs and during them.
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { LANES } from '../shared/topology/index.ts';
import { benchInt } from './env.ts';
import { startBenchCloud } from './local-cloud.ts';

const MiB = 1024 * 1024;
const TOTAL_MIB = benchInt('DSN_BENCH_TOPOLOGY_MIB', 32, 1);
// A plain PUT takes up to 4 MiB; the peer loop PUTs through the API too.
const OBJECT_MIB = 4;
const OBJECTS = Math.max(1, Math.round(TOTAL_MIB / OBJECT_MIB));
/**
 * Reads timed before the jobs. The p99 of 200 was their second slowest, and moved between 55
 * and 81 ms from run to run on the idle machine; of 1000 it is the tenth slowest.
 */
const BEFORE_READS = 1000;
const { cloud, s3, api, stop } = await startBenchCloud('dsn-bench-topology');

interface Job {
  id: string;
  state: string;
  bytesMoved: number;
  segmentsDone: number;
  objectsDone: number;
  moveSeconds: number;
}

const quantile = (q: number) => (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
};
const p50 = quantile(0.5);
const p99 = quantile(0.99);

/** 64 KiB ranged reads of random objects until `until` resolves (at least `min` of them). */
async function readLoop(keys: string[], until: Promise<unknown>, min = 0): Promise<number[]> {
  let done = false;
  until.then(() => {
    done = true;
  });
  const ms: number[] = [];
  for (let i = 0; !done || ms.length < min; i++) {
    const key = keys[i % keys.length] as string;
    const at = (i * 1_048_573) % (OBJECT_MIB * MiB - 65536);
    const t = performance.now();
    const res = await fetch(`${cloud.endpoints.api}/vaults/bench/objects/${key}`, {
      headers: { range: `bytes=${at}-${at + 65535}` },
    });
    const body = await res.arrayBuffer();
    if (res.status !== 206 || body.byteLength !== 65536)
      throw new Error(`read ${key}: ${res.status}`);
    ms.push(performance.now() - t);
  }
  return ms;
}

/** Proposes `change` and waits for its job; returns the job and the seconds it took. */
async function change(body: unknown): Promise<{ job: Job; seconds: number; done: Promise<void> }> {
  const t0 = performance.now();
  const res = await api('/vaults/bench/topology', { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 202) throw new Error(`propose: ${res.status} ${await res.text()}`);
  const { proposal } = (await res.json()) as { proposal: string };
  let job: Job | undefined;
  const done = (async () => {
    for (;;) {
      const r = await api('/vaults/bench/topology/job');
      if (r.status === 200) {
        const j = (await r.json()) as Job;
        if (j.id === proposal && j.state === 'done') {
          job = j;
          return;
        }
        if (j.state === 'failed') throw new Error(`job failed: ${JSON.stringify(j)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await done;
  return { job: job as Job, seconds: (performance.now() - t0) / 1000, done };
}

async function keysOf(bucket: string, prefix: string) {
  const out: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.push({ key: o.Key as string, size: o.Size ?? 0 });
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

try {
  const created = await api('/vaults', {
    method: 'POST',
    body: JSON.stringify({
      name: 'bench',
      width: 6,
      readThreshold: 4,
      writeThreshold: 5,
      units: [0, 1, 2, 3, 4, 5],
    }),
  });
  if (created.status !== 201) throw new Error(`vault: ${await created.text()}`);
  const keys: string[] = [];
  for (let i = 0; i < OBJECTS; i++) {
    const res = await api(`/vaults/bench/objects/o${i}`, {
      method: 'PUT',
      body: new Uint8Array(randomBytes(OBJECT_MIB * MiB)),
    });
    if (res.status !== 201) throw new Error(`PUT o${i}: ${res.status} ${await res.text()}`);
    keys.push(`o${i}`);
  }
  // Every unit's function (and the topology function) starts its sandbox before anything is
  // timed, as bench:replication's cold job does: a re-stripe onto units the vault never used
  // would otherwise pay their cold starts, and the peer loop after it would not.
  const warm = await api('/vaults', {
    method: 'POST',
    body: JSON.stringify({ name: 'warm', width: 9, readThreshold: 6, writeThreshold: 7 }),
  });
  if (warm.status !== 201) throw new Error(`warm vault: ${await warm.text()}`);
  // Writes side by side, as the job's lanes make them: each function then has a sandbox per lane.
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: LANES }, async (_, i) => {
        const res = await api(`/vaults/warm/objects/w${round}-${i}`, {
          method: 'PUT',
          body: randomBytes(4096),
        });
        if (res.status !== 201) throw new Error(`warm PUT: ${res.status} ${await res.text()}`);
      }),
    );
  }
  const before = await readLoop(keys, Promise.resolve(), BEFORE_READS);

  // Replacement, with reads throughout.
  const replaced = change({ replace: { unit: 3, with: 7 } });
  const duringReplace = readLoop(keys, replaced);
  const { job: rJob, seconds: rSeconds } = await replaced;
  const replaceReads = await duringReplace;

  // The peer: as many bytes of slice objects, copied one at a time through this process.
  const bucketOf = (unit: number) => cloud.ref(`Unit${unit}Bucket`);
  const sources = await keysOf(bucketOf(1), 'bench/');
  let copied = 0;
  const t1 = performance.now();
  for (const o of sources) {
    if (copied >= rJob.bytesMoved) break;
    const got = await s3.send(new GetObjectCommand({ Bucket: bucketOf(1), Key: o.key }));
    const body = await got.Body?.transformToByteArray();
    await s3.send(new PutObjectCommand({ Bucket: bucketOf(6), Key: `copy/${o.key}`, Body: body }));
    copied += o.size;
  }
  const copySeconds = (performance.now() - t1) / 1000;

  // Re-stripe, with reads throughout.
  const restriped = change({ width: 9, readThreshold: 6, writeThreshold: 7 });
  const duringRestripe = readLoop(keys, restriped);
  const { job: sJob, seconds: sSeconds } = await restriped;
  const restripeReads = await duringRestripe;

  // The peer: a dsn GET then PUT of every object through the API, under the same ranged reads
  // as the job ran under.
  const t2 = performance.now();
  const looped = (async () => {
    for (const key of keys) {
      const got = await api(`/vaults/bench/objects/${key}`);
      const body = new Uint8Array(await got.arrayBuffer());
      const put = await api(`/vaults/bench/objects/${key}`, { method: 'PUT', body });
      if (put.status !== 201) throw new Error(`peer PUT ${key}: ${put.status}`);
    }
  })();
  const duringLoop = readLoop(keys, looped);
  await looped;
  const loopSeconds = (performance.now() - t2) / 1000;
  const loopReads = await duringLoop;

  const rate = (bytes: number, s: number) => bytes / MiB / s;
  const objectBytes = OBJECTS * OBJECT_MIB * MiB;
  const replaceRate = rate(rJob.bytesMoved, rJob.moveSeconds);
  const copyRate = rate(copied, copySeconds);
  const restripeRate = rate(objectBytes, sJob.moveSeconds);
  const loopRate = rate(objectBytes, loopSeconds);
  console.log(
    `dsn topology jobs on the local cloud (fauxqs, dynalite), Node ${process.version}; vault bench: 4-of-6, 8 MiB segments, ${OBJECTS} objects of ${OBJECT_MIB} MiB (${OBJECTS * OBJECT_MIB} MiB)\n`,
  );
  console.log('| measure | MB/s | seconds | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| replace unit 3 with unit 7: slice bytes moved (${(rJob.bytesMoved / MiB).toFixed(0)} MiB), time spent moving (proposal to job done, with the units' grace: ${rSeconds.toFixed(1)} s) | ${replaceRate.toFixed(1)} | ${rJob.moveSeconds.toFixed(2)} | 1.00x |`,
  );
  console.log(
    `| plain copy of as many bytes, GetObject + PutObject, one at a time | ${copyRate.toFixed(1)} | ${copySeconds.toFixed(2)} | replace / copy ${(replaceRate / copyRate).toFixed(2)}x |`,
  );
  console.log(
    `| re-stripe 4-of-6 to 6-of-9: object bytes re-encoded, time spent moving (proposal to job done: ${sSeconds.toFixed(1)} s) | ${restripeRate.toFixed(1)} | ${sJob.moveSeconds.toFixed(2)} | 1.00x |`,
  );
  console.log(
    `| dsn GET + PUT of every object through the API, under the same ranged reads | ${loopRate.toFixed(1)} | ${loopSeconds.toFixed(2)} | re-stripe / loop ${(restripeRate / loopRate).toFixed(2)}x |`,
  );
  console.log('\n| 64 KiB ranged GET | reads | p50 ms | p99 ms | p99 / before |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  const base = p99(before);
  for (const [name, xs] of [
    ['before the jobs', before],
    ['during the replacement', replaceReads],
    ['during the re-stripe', restripeReads],
    ['during the GET + PUT loop (the peer)', loopReads],
  ] as const) {
    console.log(
      `| ${name} | ${xs.length} | ${p50(xs).toFixed(1)} | ${p99(xs).toFixed(1)} | ${(p99(xs) / base).toFixed(2)}x |`,
    );
  }
} finally {
  await stop();
}

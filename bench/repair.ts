/**
 * `npm run bench:repair`: how fast the rebuilder regenerates the slices of a wiped unit, against
 * a plain copy of the same bytes between two buckets of the same emulator, in one run.
 *
 * The default vault (4-of-6, 8 MiB segments) holds 32 objects of 8 MiB; every slice of unit 0
 * is deleted, then a rebuild runs through the local cloud's rebuilder function (queue-driven
 * steps, as on AWS) until done. Its figure is slice bytes regenerated per second of the whole
 * job, which also checks every other slice of the vault (a scrub cannot skip them: bit rot
 * shows only when bytes are read). The peers copy as many bytes, slice objects of the same
 * sizes: GetObject then PutObject one object at a time from this process, and CopyObject inside
 * the emulator.
 */
import { randomBytes } from 'node:crypto';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { startBenchCloud } from './local-cloud.ts';

const MiB = 1024 * 1024;
const OBJECTS = 32;
const { cloud, s3, api, stop } = await startBenchCloud('dsn-bench-repair');
const { runtime } = await import('../shared/aws/runtime.ts');
const { wireStoreApi } = await import('../shared/aws/store/wire.ts');
const { writeObject } = await import('../shared/store/writer.ts');
const d = wireStoreApi(runtime('bench'));

async function keys(bucket: string, prefix: string): Promise<Array<{ key: string; size: number }>> {
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

interface Job {
  state: string;
  slicesRepaired: number;
  segmentsScanned: number;
  segmentsLost: number;
  bytesMoved: number;
  invocations: number;
}

try {
  await api('/vaults');
  const vault = await d.vaults.get('default');
  for (let i = 0; i < OBJECTS; i++) {
    const body = randomBytes(8 * MiB);
    const out = await writeObject(
      d.writer,
      'default',
      `bench/${i}`,
      (async function* () {
        yield body;
      })(),
      { waitMs: 60_000 },
    );
    if (out.state !== 'committed') throw new Error(`PUT ${i} ended ${out.state}`);
  }
  const bucketOf = (unit: number) => cloud.ref(`Unit${unit}Bucket`);
  const wipedUnit = vault.units[0] as number;
  const sourceUnit = vault.units[1] as number;
  const wiped = await keys(bucketOf(wipedUnit), 'default/');
  const wipedBytes = wiped.reduce((sum, o) => sum + o.size, 0);
  for (let i = 0; i < wiped.length; i += 1000) {
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucketOf(wipedUnit),
        Delete: { Objects: wiped.slice(i, i + 1000).map((o) => ({ Key: o.key })) },
      }),
    );
  }

  // The rebuild, through the API and the rebuilder function.
  const t0 = performance.now();
  const started = await api('/vaults/default/rebuild', {
    method: 'POST',
    body: JSON.stringify({ restart: true }),
  });
  if (started.status !== 202) throw new Error(`rebuild: ${started.status} ${await started.text()}`);
  let job: Job;
  for (;;) {
    job = (await (await api('/vaults/default/rebuild')).json()) as Job;
    if (job.state === 'done') break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const repairSeconds = (performance.now() - t0) / 1000;
  if (job.slicesRepaired !== wiped.length) {
    throw new Error(`rebuild repaired ${job.slicesRepaired} of ${wiped.length} slices`);
  }

  // The peers: as many bytes, the source unit's slices (same count and sizes), to a spare bucket.
  const sources = (await keys(bucketOf(sourceUnit), 'default/')).slice(0, wiped.length);
  const copiedBytes = sources.reduce((sum, o) => sum + o.size, 0);
  const spare = cloud.ref('Unit7Bucket');
  const t1 = performance.now();
  for (const o of sources) {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucketOf(sourceUnit), Key: o.key }));
    const body = await got.Body?.transformToByteArray();
    await s3.send(new PutObjectCommand({ Bucket: spare, Key: `copy/${o.key}`, Body: body }));
  }
  const copySeconds = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  for (const o of sources) {
    await s3.send(
      new CopyObjectCommand({
        Bucket: spare,
        Key: `server-copy/${o.key}`,
        CopySource: `${bucketOf(sourceUnit)}/${o.key}`,
      }),
    );
  }
  const serverCopySeconds = (performance.now() - t2) / 1000;

  const rate = (bytes: number, s: number) => bytes / MiB / s;
  const ours = rate(wipedBytes, repairSeconds);
  const get = rate(copiedBytes, copySeconds);
  const server = rate(copiedBytes, serverCopySeconds);
  console.log(
    `dsn rebuild on the local cloud (fauxqs, dynalite), Node ${process.version}; vault default: ${vault.readThreshold}-of-${vault.width}, ${vault.segmentSize / MiB} MiB segments, ${OBJECTS} objects of 8 MiB, unit ${wipedUnit} wiped (${wiped.length} slices, ${(wipedBytes / MiB).toFixed(0)} MiB)\n`,
  );
  console.log('| measure | MB/s | seconds | rebuild / this |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| rebuild: slices regenerated (whole job: ${job.segmentsScanned} segments scrubbed, ${(job.bytesMoved / MiB).toFixed(0)} MiB read and written, ${job.invocations} invocation(s)) | ${ours.toFixed(0)} | ${repairSeconds.toFixed(2)} | 1.00x |`,
  );
  console.log(
    `| plain copy of as many bytes, GetObject + PutObject, one at a time | ${get.toFixed(0)} | ${copySeconds.toFixed(2)} | ${(ours / get).toFixed(2)}x |`,
  );
  console.log(
    `| plain copy of as many bytes, CopyObject inside the emulator | ${server.toFixed(0)} | ${serverCopySeconds.toFixed(2)} | ${(ours / server).toFixed(2)}x |`,
  );
} finally {
  await stop();
}

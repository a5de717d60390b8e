/**
 * `npm run bench:replication`: a vault-to-S3 replication job on the local cloud against a plain
 * copy loop over the same bytes on the same emulator, in one run.
 *
 * - ours: `POST /replications` from a vault to a plain bucket, timed from the request to the
 *   job's end (plan, dispatch, the workers' copies in 8 MiB parts, statuses, finalize).
 * - peer: a loop in this process reading each object with the dsn reader (`openObject`) and
 *   writing it with PutObject (multi-part upload in the same 8 MiB parts above that), with as
 *   many copies at once as the workers run: 4 workers, each running `DSN_BENCH_LANES` (2)
 *   executions at once, the SQS pollers of each queue on the bench's cloud (2 is the local
 *   cloud's own; 1 is one copy per worker at a time, four sandboxes busy instead of eight).
 *
 * - before both, a first job of 16 small objects starts the functions' sandboxes (printed: the
 *   cold start of a job), since the peer runs in this already warm process.
 * - both run in `DSN_BENCH_ROUNDS` (4) paired rounds, each to fresh buckets, the order
 *   alternating, so each side runs first as often as the other (the first of a round ran
 *   slower, whichever it was, in runs of 3); the ratio is the median of the rounds' own
 *   ratios.
 * - migration pause: a job copying one large object is migrated between workers again and
 *   again; from the stop sent (`migrate`) to the remainder started on the other worker (the
 *   time its `started` status carries, as the log keeps it), p50 against one part's copy time
 *   seen on the same copy. The stops alternate between two moments: at a random point of a
 *   part, as a rebalancing look or an admin's call comes, and just after a checkpoint, with a
 *   whole part in flight (which the worker abandons to the next one). The target's row is the
 *   p50 of all of them.
 *
 * - restart overhead (bench/replication-restart.ts): the same objects copied by a job on a local
 *   cloud process that is killed at half the bytes and started again; bytes written again.
 *
 * The issue's scale is 500 objects of 4 KiB to 8 MiB (log-uniform) and one 256 MiB object;
 * `DSN_BENCH_OBJECTS`, `DSN_BENCH_LARGE_MIB` and `DSN_BENCH_MIGRATE_MIB` (192) scale it down on
 * a small machine; `DSN_BENCH_RESTART=0` skips the restart overhead.
 */
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { seededRandom } from '../test/helpers/seeded.ts';
import { cpuBetween, cpuLine, cpuSnapshot } from './cpu.ts';
import { benchInt } from './env.ts';
import { startBenchCloud } from './local-cloud.ts';
import { migrationPauses, migrationRows } from './replication-migrate.ts';
import { countRequests, operationsPer, requestsPer, served, tablesPer } from './requests.ts';
import { median } from './stats.ts';

const MiB = 1024 * 1024;
const OBJECTS = benchInt('DSN_BENCH_OBJECTS', 500, 1);
const LARGE = benchInt('DSN_BENCH_LARGE_MIB', 256) * MiB;
const PART = 8 * MiB;
/** Executions of each worker at once (SQS pollers per queue), so copies at once per worker. */
const LANES = benchInt('DSN_BENCH_LANES', 2, 1);
/**
 * Objects of the warm-up job: enough for every worker's sandboxes to start. A worker takes up to
 * ten messages an invocation, so each worker's queue needs more than ten at once for its second
 * poller, and so its second sandbox, to start.
 */
const WARM = 64;
/** The object whose copy is migrated between workers, again and again (the migration pause). */
const MIGRATE = benchInt('DSN_BENCH_MIGRATE_MIB', 192) * MiB;
const RESTART = process.env.DSN_BENCH_RESTART !== '0';
/**
 * Paired rounds of job and loop, in alternating order: the figure is the median of the rounds'
 * own ratios, so a burst of load on this shared machine moves one round, not the figure.
 */
const ROUNDS = benchInt('DSN_BENCH_ROUNDS', 4, 1);
/**
 * The objects' sizes come from this seed (`DSN_BENCH_SEED`), so two runs, of two commits, copy
 * the same sizes; their bytes are random.
 */
const SEED = benchInt('DSN_BENCH_SEED', 1);
const sizeRandom = seededRandom(SEED);

// Before the in-process cloud points this process's environment at itself: the restart
// measure's cloud process starts from this one.
const startEnv = { ...process.env };
const { cloud, s3, api, stop } = await startBenchCloud('dsn-bench-replication', {
  sqsPollers: LANES,
});
/** The pool's size (`custom.dsn.replicationWorkers`): its functions, as the cloud read them. */
const WORKERS = cloud.service.functions.filter((f) => /^replicationWorker\d+$/.test(f.key)).length;
/** The peer's copies at once: as many as the job's. */
const CONCURRENCY = WORKERS * LANES;
const { restartOverhead, restartRows } = await import('./replication-restart.ts');
const { runtime } = await import('../shared/aws/runtime.ts');
const { wireStoreApi } = await import('../shared/aws/store/wire.ts');
const { writeObject } = await import('../shared/store/writer.ts');
const { openObject } = await import('../shared/store/reader.ts');

try {
  const d = wireStoreApi(runtime('bench'));
  const created = await api('/vaults', {
    method: 'POST',
    body: JSON.stringify({
      name: 'bench-src',
      width: 6,
      readThreshold: 4,
      writeThreshold: 5,
      units: [0, 1, 2, 3, 4, 5],
    }),
  });
  if (created.status !== 201) throw new Error(`vault: ${created.status} ${await created.text()}`);
  for (const bucket of ['bench-warm', 'bench-mig'])
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));

  // Prepare: the source vault, written in this process (streamed, a segment at a time).
  const sizes: Array<[string, number]> = [];
  for (let i = 0; i < OBJECTS; i++) {
    const size = Math.round(4096 * ((8 * MiB) / 4096) ** sizeRandom());
    sizes.push([`data/o/${String(i).padStart(4, '0')}`, size]);
  }
  if (LARGE > 0) sizes.push(['data/large/one.bin', LARGE]);
  const total = sizes.reduce((n, [, s]) => n + s, 0);
  for (const [key, size] of sizes) {
    async function* body() {
      for (let at = 0; at < size; at += 4 * MiB) yield randomBytes(Math.min(4 * MiB, size - at));
    }
    const out = await writeObject(d.writer, 'bench-src', key, body(), { waitMs: 60_000 });
    if (out.state !== 'committed') throw new Error(`${key}: ${out.state}`);
  }
  // The migration measure's object, under its own prefix.
  if (MIGRATE > 0) {
    async function* body() {
      for (let at = 0; at < MIGRATE; at += 4 * MiB)
        yield randomBytes(Math.min(4 * MiB, MIGRATE - at));
    }
    const out = await writeObject(d.writer, 'bench-src', 'mig/one.bin', body(), { waitMs: 60_000 });
    if (out.state !== 'committed') throw new Error(`mig/one.bin: ${out.state}`);
  }
  // The warm-up job's objects, under their own prefix.
  for (let i = 0; i < WARM; i++) {
    async function* body() {
      yield randomBytes(4096);
    }
    const out = await writeObject(d.writer, 'bench-src', `warm/${i}`, body(), {
      waitMs: 60_000,
    });
    if (out.state !== 'committed') throw new Error(`warm/${i}: ${out.state}`);
  }
  process.stdout.write(
    `source: ${sizes.length} objects, ${(total / MiB).toFixed(1)} MiB (sizes of seed ${SEED})\n`,
  );

  // A job from `prefix` of the source vault to `bucket`: seconds from the request to the job
  // seen ended, and when its tasks ended (the workers' clocks, as logged; same machine).
  const { wireReplicationJobs } = await import('../shared/aws/replication/wire.ts');
  const log = wireReplicationJobs(runtime('bench')).log;
  const runJob = async (prefix: string, bucket: string) => {
    const t0 = performance.now();
    const wall0 = Date.now();
    const res = await api('/replications', {
      method: 'POST',
      body: JSON.stringify({ source: { vault: 'bench-src', prefix }, destination: { bucket } }),
    });
    if (res.status !== 202) throw new Error(`replication: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    // The end, seen in the log's job record: one read a tick. Polling the API's view instead
    // (every task read, each time) would load the machine the job runs on.
    for (;;) {
      const job = await log.getJob(id);
      if (!job) throw new Error(`replication ${id} is not in the log`);
      if (job.state !== 'running') {
        if (job.state !== 'succeeded') throw new Error(`the job ended ${job.state}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    const ends: number[] = [];
    // Tasks sent more than once (a rebalancing move, a retry, a migrated remainder): each costs
    // a mark, a message, and a stale delivery read and dropped.
    let resent = 0;
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const page = await log.tasks(id, 500, cursor);
      for (const t of page.tasks) {
        if (t.finishedAt) ends.push(Date.parse(t.finishedAt) - wall0);
        resent += Math.max(0, t.attempts - 1);
      }
      cursor = page.cursor;
    }
    ends.sort((a, b) => a - b);
    const at = (q: number) =>
      ((ends[Math.min(ends.length - 1, Math.floor(q * ends.length))] ?? 0) / 1000).toFixed(1);
    return {
      id,
      seconds,
      timeline: `first task done ${at(0)} s, median ${at(0.5)} s, last ${at(1)} s; ${resent} sends beyond each task's first`,
    };
  };

  // Cold: the first job of this cloud, which also starts every function's sandboxes (module
  // loading on these two cores), as a deployment's first job after an idle spell would.
  const cold = await runJob('warm/', 'bench-warm');
  process.stdout.write(
    `cold job (${WARM} objects of 4 KiB): ${cold.seconds.toFixed(1)} s (${cold.timeline})\n`,
  );

  // Ours: the replication job, on warm functions (the peer's process is warm too).
  const jobRun = async (bucket: string) => {
    const cpu0 = cpuSnapshot();
    const counted = served();
    const job = await countRequests(counted, () => runJob('data/', bucket));
    const cpu = cpuBetween(cpu0, cpuSnapshot());
    return {
      seconds: job.seconds,
      lines: [
        `timed job: ${job.seconds.toFixed(1)} s (${job.timeline})`,
        `  CPU: ${cpuLine(cpu)}`,
        `  requests per object: ${requestsPer(counted, sizes.length)}`,
        `    ${operationsPer(counted, sizes.length)}`,
        `    DynamoDB by table: ${tablesPer(counted, sizes.length)}`,
      ],
    };
  };

  // Peer: the plain copy loop.
  const copyOne = async (bucket: string, key: string, size: number) => {
    if (size <= PART) {
      const { body } = await openObject(d.reader, 'bench-src', key);
      const chunks: Uint8Array[] = [];
      for await (const c of body) chunks.push(c);
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.concat(chunks) }),
      );
      return;
    }
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
    );
    const parts: Array<{ ETag: string; PartNumber: number }> = [];
    for (let at = 0, n = 1; at < size; at += PART, n++) {
      const end = Math.min(size, at + PART);
      const { body } = await openObject(d.reader, 'bench-src', key, `bytes=${at}-${end - 1}`);
      const chunks: Uint8Array[] = [];
      for await (const c of body) chunks.push(c);
      const out = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: n,
          Body: Buffer.concat(chunks),
        }),
      );
      parts.push({ ETag: out.ETag ?? '', PartNumber: n });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  };
  const loopRun = async (bucket: string) => {
    const cpu1 = cpuSnapshot();
    const t1 = performance.now();
    const queue = [...sizes];
    const counted = served();
    await countRequests(counted, () =>
      Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) await copyOne(bucket, ...next);
        }),
      ),
    );
    const seconds = (performance.now() - t1) / 1000;
    return {
      seconds,
      lines: [
        `plain copy loop: ${seconds.toFixed(1)} s`,
        `  CPU: ${cpuLine(cpuBetween(cpu1, cpuSnapshot()))}`,
        `  requests per object: ${requestsPer(counted, sizes.length)}`,
        `    ${operationsPer(counted, sizes.length)}`,
      ],
    };
  };

  // The rounds: each side copies the same objects to a fresh bucket of its own, the order
  // alternating from one round to the next.
  const rounds: Array<{ ours: number; peer: number }> = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const repl = `bench-repl-${r}`;
    const plain = `bench-plain-${r}`;
    for (const bucket of [repl, plain]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const jobFirst = r % 2 === 1;
    const first = jobFirst ? await jobRun(repl) : await loopRun(plain);
    const second = jobFirst ? await loopRun(plain) : await jobRun(repl);
    const [job, loop] = jobFirst ? [first, second] : [second, first];
    rounds.push({ ours: job.seconds, peer: loop.seconds });
    process.stdout.write(
      `round ${r} of ${ROUNDS} (${jobFirst ? 'job' : 'loop'} first): ratio ${(loop.seconds / job.seconds).toFixed(2)}x\n${[...first.lines, ...second.lines].map((l) => `  ${l}`).join('\n')}\n`,
    );
  }

  const { pauses, partGaps } =
    MIGRATE > 0
      ? await migrationPauses({ api, log, parts: Math.ceil(MIGRATE / PART) })
      : { pauses: { random: [], checkpoint: [], call: [] }, partGaps: [] };

  const mbps = (s: number) => (total / MiB / s).toFixed(1);
  const ours = median(rounds.map((x) => x.ours));
  const peer = median(rounds.map((x) => x.peer));
  const ratios = rounds.map((x) => x.peer / x.ours);
  const ratio = median(ratios);
  process.stdout.write(
    [
      '',
      `| vault to S3, ${sizes.length} objects, ${(total / MiB).toFixed(0)} MiB (median of ${rounds.length} rounds) | MiB/s | seconds |`,
      '| --- | ---: | ---: |',
      `| replication job (${WORKERS} workers, ${LANES} cop${LANES === 1 ? 'y' : 'ies'} each at a time) | ${mbps(ours)} | ${ours.toFixed(1)} |`,
      `| plain copy loop (dsn reader + PutObject, ${CONCURRENCY} at once) | ${mbps(peer)} | ${peer.toFixed(1)} |`,
      `| ratio (ours / plain; median of the rounds' ${ratios.map((x) => x.toFixed(2)).join(', ')}) | ${ratio.toFixed(2)}x | target >= 0.7x: ${ratio >= 0.7 ? 'met' : 'MISSED'} |`,
      '',
      ...migrationRows({ pauses, partGaps }, MIGRATE, PART),
      '',
    ].join('\n'),
  );
  if (RESTART) {
    const restart = await restartOverhead(sizes, startEnv);
    process.stdout.write(`${restartRows(restart, total).join('\n')}\n`);
  }
} finally {
  await stop();
}

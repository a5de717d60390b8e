/**
 * bench:replication's restart overhead (run from bench/replication.ts): the same objects (sizes)
 * copied bucket to bucket by a job on a local cloud run as a process of its own (stage `bench`),
 * killed (SIGKILL) once half the bytes are copied, started again on the same data folder and, if
 * the job does not go on by itself, restarted (`POST /replications/{id}/restart`). Bytes written
 * to the destination again, from the emulator's successful PUTs per key and part
 * (`GET /admin/requests/{bucket}`) of both processes, against one part per task in flight at the
 * kill.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { putInParts, startCloudProcess, tempDir } from '../test/helpers/local-cloud.ts';

const MiB = 1024 * 1024;
/** The workers' part size. */
const PART = 8 * MiB;
/** No progress for this long after the second start: the job does not go on by itself. */
const STALL_MS = 8000;

export interface RestartFigures {
  /** Percent of the bytes copied (per the log) when the kill was sent. */
  killedAt: number;
  inFlight: number;
  again: number;
  /** Whether the job went on after the second start without `restart`. */
  resumedByItself: boolean;
  seconds: number;
}

/**
 * Restart overhead: a job over `sizes` on a cloud process of its own, killed at half its bytes,
 * started again, finished; the bytes its destination was written again.
 */
export async function restartOverhead(
  sizes: Array<[string, number]>,
  startEnv: NodeJS.ProcessEnv,
): Promise<RestartFigures> {
  const dir = await tempDir('dsn-bench-replication-restart');
  const env = { DSN_STAGE: 'bench' };
  const first = await startCloudProcess(dir.path, env, startEnv);
  const exited = once(first.child, 'exit');
  try {
    const s3p = new S3Client({
      endpoint: first.aws.AWS_ENDPOINT_URL_S3,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      forcePathStyle: true,
    });
    for (const bucket of ['restart-in', 'restart-out'])
      await s3p.send(new CreateBucketCommand({ Bucket: bucket }));
    // Above a part in parts: the S3 emulator refuses a body that large in one PUT (413).
    for (const [key, size] of sizes)
      if (size > PART) await putInParts(s3p, 'restart-in', key, randomBytes(size));
      else
        await s3p.send(
          new PutObjectCommand({ Bucket: 'restart-in', Key: key, Body: randomBytes(size) }),
        );
    s3p.destroy();
    type Job = {
      state: string;
      planned: boolean;
      bytes: { total: number; copied: number };
      tasks: { done: number };
    };
    type Task = { key: string; size: number; state: string };
    const res = await fetch(`${first.api}/replications`, {
      method: 'POST',
      body: JSON.stringify({
        source: { bucket: 'restart-in' },
        destination: { bucket: 'restart-out' },
      }),
    });
    if (res.status !== 202) throw new Error(`replication: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    const t0 = performance.now();

    // Kill once the log says half the bytes are copied; what was in flight then, and the
    // destination's PUTs so far, read just before.
    let killedAt = 0;
    for (;;) {
      const job = (await (await fetch(`${first.api}/replications/${id}`)).json()) as Job;
      if (job.state !== 'running') throw new Error(`the job ended ${job.state} before half`);
      // Planned first: until then the log's total is only the tasks written so far.
      if (job.planned && job.bytes.copied >= job.bytes.total / 2) {
        killedAt = (100 * job.bytes.copied) / job.bytes.total;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const [tasks, before] = await Promise.all([
      fetch(`${first.api}/replications/${id}/tasks?limit=1000`).then(
        async (r) => ((await r.json()) as { tasks: Task[] }).tasks,
      ),
      putsOf(first.api),
    ]);
    first.child.kill('SIGKILL');
    await exited;
    const inFlight = tasks.filter((t) => t.state === 'running' || t.state === 'stopping').length;

    // Started again on the same data; restarted only if it stalls.
    const second = await startCloudProcess(dir.path, env, startEnv);
    try {
      let resumedByItself = true;
      let last = '';
      let since = performance.now();
      for (;;) {
        const job = (await (await fetch(`${second.api}/replications/${id}`)).json()) as Job;
        if (job.state !== 'running') {
          if (job.state !== 'succeeded') throw new Error(`the job ended ${job.state}`);
          break;
        }
        const seen = `${job.bytes.copied}/${job.tasks.done}`;
        if (seen !== last) {
          last = seen;
          since = performance.now();
        } else if (resumedByItself && performance.now() - since > STALL_MS) {
          resumedByItself = false;
          const r = await fetch(`${second.api}/replications/${id}/restart`, { method: 'POST' });
          if (r.status !== 202) throw new Error(`restart: ${r.status} ${await r.text()}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (performance.now() - t0) / 1000;
      const afterPuts = await putsOf(second.api);
      const size = new Map(sizes);
      // Each successful PUT of a key (or of a part, `key#n`) past its first wrote its bytes again.
      let again = 0;
      for (const name of new Set([...before.keys(), ...afterPuts.keys()])) {
        const times = (before.get(name) ?? 0) + (afterPuts.get(name) ?? 0);
        if (times > 1) again += (times - 1) * bytesOfPut(name, size);
      }
      return { killedAt, inFlight, again, resumedByItself, seconds };
    } finally {
      second.child.kill('SIGTERM');
      await once(second.child, 'exit');
    }
  } finally {
    if (first.child.exitCode === null && first.child.signalCode === null)
      first.child.kill('SIGKILL');
    await dir.remove();
  }
}

/** Successful PUTs per key (and `key#part`) of the destination on a cloud process. */
async function putsOf(apiBase: string): Promise<Map<string, number>> {
  const r = await fetch(`${apiBase}/admin/requests/restart-out`);
  const body = (await r.json()) as { putsByKey: Record<string, number> };
  return new Map(Object.entries(body.putsByKey));
}

/** Bytes one PUT of `name` writes: the whole object, or part n of it. */
function bytesOfPut(name: string, size: Map<string, number>): number {
  const m = /^(.*)#(\d+)$/.exec(name);
  const whole = size.get(name);
  if (whole !== undefined || !m) return whole ?? 0;
  const objectSize = size.get(m[1] as string) ?? 0;
  const part = Number(m[2]);
  return Math.max(0, Math.min(PART, objectSize - (part - 1) * PART));
}

export function restartRows(r: RestartFigures, total: number): string[] {
  const allowed = r.inFlight * PART;
  return [
    `| restart after a kill at ${r.killedAt.toFixed(0)}% of the bytes (${r.resumedByItself ? 'went on by itself' : 'POST restart'}, ${r.seconds.toFixed(1)} s in all) | bytes |`,
    '| --- | ---: |',
    `| copied again / total: ${(r.again / MiB).toFixed(1)} MiB / ${(total / MiB).toFixed(1)} MiB = ${(r.again / total).toFixed(3)} | ${r.again} |`,
    `| one part per task in flight at the kill: ${r.inFlight} x ${PART / MiB} MiB | ${allowed} |`,
    `| target: copied again <= one part per in-flight task | ${r.again <= allowed ? 'met' : 'MISSED'} |`,
    '',
  ];
}

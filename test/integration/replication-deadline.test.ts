/**
 * A replication worker near its Lambda time limit (stage `deadline`: workers live 10 s and stop
 * with 7 s left, reading `getRemainingTimeInMillis`) stops its copy at a part boundary and asks
 * to be migrated; the controller sends the rest of the same upload to another worker, and the
 * copy finishes with no part written twice.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
  LOCAL_CREDENTIALS,
  PROJECT_ROOT,
  putInParts,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';
import { jobEnded, startJob } from '../helpers/replication-api.ts';

const PART = 5 * 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('a replication worker at its deadline', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let s3: S3Client;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);

  before(async () => {
    dir = await tempDir('dsn-repl-deadline');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'deadline');
    s3 = new S3Client({
      endpoint: cloud.endpoints.s3,
      region: cloud.service.region,
      credentials: LOCAL_CREDENTIALS,
      forcePathStyle: true,
    });
  });

  after(async () => {
    s3?.destroy();
    await cloud?.stop();
    await dir?.remove();
  });

  test('migrates its copy at a part boundary, and the copy finishes byte-exact', async () => {
    // Prepare: six parts into a bucket that answers each request 1.5 s late: more than one
    // worker's 10 s can copy.
    const big = randomBytes(5 * PART + 3);
    for (const bucket of ['deadline-in', 'deadline-out'])
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await putInParts(s3, 'deadline-in', 'big.bin', big);
    cloud.faults.setBucket('deadline-out', { unit: -1, mode: 'slow', delayMs: 1500 });

    // Act
    const { id } = await startJob(api, {
      source: { bucket: 'deadline-in' },
      destination: { bucket: 'deadline-out' },
    });
    const job = await jobEnded(api, id);

    // Assess
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.ok(
      job.migrations >= 1,
      `migrations ${job.migrations}: ${await (await api(`/replications/${id}/tasks`)).text()}`,
    );
    const { tasks } = (await (await api(`/replications/${id}/tasks`)).json()) as {
      tasks: Array<{ sourceWorker: number; destinationWorker: number; attempts: number }>;
    };
    assert.notEqual(tasks[0]?.sourceWorker, tasks[0]?.destinationWorker);
    cloud.faults.setBucket('deadline-out', undefined);
    const out = await s3.send(new GetObjectCommand({ Bucket: 'deadline-out', Key: 'big.bin' }));
    const bytes = await (
      out.Body as { transformToByteArray(): Promise<Uint8Array> }
    ).transformToByteArray();
    assert.equal(sha(bytes), sha(big));
    const puts = cloud.faults.putsByKey('deadline-out');
    for (let part = 1; part <= 6; part++)
      assert.equal(puts.get(`big.bin#${part}`), 1, `part ${part}`);
  });
});

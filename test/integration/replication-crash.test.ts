/**
 * A replication job survives a crash at each named point (`DSN_REPLICATION_CRASH_AT`,
 * shared/aws/replication/crash.ts): the local cloud runs as its own process and kills itself
 * there (functions run in its worker threads), then starts again on the same data folder
 * without the hook, and the job is restarted through the API. The destination then holds every
 * object byte-exact, and the emulator's request counters of the second process show that no
 * object finished before the restart was written again, nor a part the log had checkpointed.
 *
 * Both ends are plain buckets of the cloud's own S3 (named without an endpoint, so they are
 * the same after the restart moves the ports), and the stage copies in 5 MiB parts.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describesItsBody } from '../../infra/local/s3-recovery.ts';
import { CRASH_POINTS } from '../../shared/replication/index.ts';
import {
  type CloudProcess,
  ending,
  eventually,
  killCloudProcesses,
  LOCAL_CREDENTIALS,
  startCloudProcess,
  tempDir,
} from '../helpers/local-cloud.ts';

const MiB = 1024 * 1024;
/** Three parts of 5 MiB: the crash `mid-parts` comes after the first. */
const LARGE = 'large/three-parts.bin';

function fixtures(): Map<string, Buffer> {
  const objects = new Map<string, Buffer>();
  for (let i = 0; i < 24; i++)
    objects.set(`small/${String(i).padStart(2, '0')}.bin`, randomBytes(1000 + i * 997));
  objects.set(LARGE, randomBytes(10 * MiB + 7));
  return objects;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Keys of `bucket` stored whole on the S3 emulator's disk: a `<key>.meta.json` that describes
 * its `<key>.data`. A PUT the kill cut between its two files leaves a body alone, which the
 * restart's recovery removes (infra/local/s3-recovery.ts): that object is not finished, and
 * writing it again is right.
 */
async function wholeObjects(dataDir: string, bucket: string): Promise<string[]> {
  const root = join(dataDir, 's3', 'buckets', bucket, 'objects');
  const files = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  const META = '.meta.json';
  return files
    .filter((f) => f.endsWith(META))
    .map((f) => f.slice(0, -META.length))
    .filter((key) => describesItsBody(join(root, `${key}${META}`), join(root, `${key}.data`)));
}

function s3Of(cloud: CloudProcess): S3Client {
  return new S3Client({
    endpoint: cloud.aws.AWS_ENDPOINT_URL_S3,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
  });
}

/**
 * What a job that did not end left behind, read from the emulators themselves: its items in the
 * replication table that are not done (round, attempts, claim), and the replication queues'
 * messages waiting and in flight. The API's views leave the rounds and the queues out.
 */
async function leftBehind(cloud: CloudProcess, jobId: string): Promise<string> {
  const common = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...common, endpoint: cloud.aws.AWS_ENDPOINT_URL_DYNAMODB }),
  );
  const sqs = new SQSClient({ ...common, endpoint: cloud.aws.AWS_ENDPOINT_URL_SQS });
  try {
    const { TableNames = [] } = await db.send(new ListTablesCommand({}));
    const table = TableNames.find((n) => n.endsWith('ReplicationTable'));
    const { Items = [] } = await db.send(new ScanCommand({ TableName: table }));
    const items = Items.filter((i) => JSON.stringify(i).includes(jobId) && i.state !== 'done');
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    const queues = await Promise.all(
      QueueUrls.filter((u) => /Replication/i.test(u)).map(async (url) => {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
            ],
          }),
        );
        return `${url.slice(url.lastIndexOf('/') + 1)} waiting ${Attributes.ApproximateNumberOfMessages} in flight ${Attributes.ApproximateNumberOfMessagesNotVisible}`;
      }),
    );
    return `job items not done: ${JSON.stringify(items)}; queues: ${queues.join(', ')}`;
  } catch (err) {
    return `(could not read what was left: ${(err as Error).message})`;
  } finally {
    db.destroy();
    sqs.destroy();
  }
}

describe('a replication job across a crash of the local cloud', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    killCloudProcesses();
  });

  for (const point of CRASH_POINTS) {
    test(`killed at ${point}, restarted, it finishes byte-exact and writes no finished object again`, async () => {
      const dir = await tempDir(`dsn-repl-crash-${point}`);
      try {
        // Prepare: the source bucket, and a job started with the hook armed.
        const first = await startCloudProcess(dir.path, { DSN_REPLICATION_CRASH_AT: point });
        children.push(first.child);
        const s3 = s3Of(first);
        const objects = fixtures();
        for (const bucket of ['crash-in', 'crash-out'])
          await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        for (const [key, body] of objects)
          await s3.send(new PutObjectCommand({ Bucket: 'crash-in', Key: key, Body: body }));
        s3.destroy();
        const res = await fetch(`${first.api}/replications`, {
          method: 'POST',
          body: JSON.stringify({
            source: { bucket: 'crash-in' },
            destination: { bucket: 'crash-out' },
          }),
        });
        assert.equal(res.status, 202, await res.clone().text());
        const { id } = (await res.json()) as { id: string };

        // Act: it dies at the point; it comes back without the hook, and the job is restarted.
        assert.equal(await ending(first, `crash at ${point}`), 'SIGKILL', first.output());
        // Objects already whole in the destination (files on the emulator's disk), read before
        // the cloud comes back and redelivers what was in flight: finished, whatever the log says.
        const finished = await wholeObjects(dir.path, 'crash-out');
        // The copy whose `done` the crash cut off is whole there: the check is not vacuous.
        if (point === 'after-copy')
          assert.ok(finished.length >= 1, 'a copy finished before the kill');
        const second = await startCloudProcess(dir.path);
        children.push(second.child);
        const api = (path: string, init?: RequestInit) => fetch(`${second.api}${path}`, init);
        const s3b = s3Of(second);
        try {
          const tasksNow = async () =>
            (
              (await (await api(`/replications/${id}/tasks?limit=1000`)).json()) as {
                tasks: Array<{ key: string; state: string; partsDone?: number; attempts: number }>;
              }
            ).tasks;
          // The kill at mid-parts came once the log held the first part's checkpoint (worker.ts
          // waits for it there): a part checkpointed in the log is one a restart must not write
          // again.
          const large =
            point === 'mid-parts'
              ? await eventually(async () => {
                  const t = (await tasksNow()).find((x) => x.key === LARGE);
                  return (t?.partsDone ?? 0) >= 1 ? t : undefined;
                }, 'the checkpoint of the first part in the log')
              : undefined;
          const doneInLog = new Map(
            (await tasksNow()).filter((t) => t.state === 'done').map((t) => [t.key, t.attempts]),
          );
          const restart = await api(`/replications/${id}/restart`, { method: 'POST' });
          assert.equal(restart.status, 202, await restart.clone().text());
          const job = await eventually(
            async () => {
              const j = (await (await api(`/replications/${id}`)).json()) as {
                state: string;
                restarts: number;
                tasks: { total: number; done: number };
              };
              return j.state === 'running' ? undefined : j;
            },
            `replication ${id} to end after the restart`,
            120_000,
          ).catch(async (err: Error) => {
            // What was left, and what the restarted cloud said, so a failure explains itself.
            const left = (await tasksNow()).filter((t) => t.state !== 'done');
            const job = await (await api(`/replications/${id}`)).text();
            throw new Error(
              `${err.message}; tasks not done: ${JSON.stringify(left)}; the job: ${job}; ${await leftBehind(second, id)}; the restarted cloud's output: ${second.output().slice(-4000)}`,
            );
          });

          // Assess
          assert.equal(job.state, 'succeeded', JSON.stringify(job));
          assert.equal(job.restarts, 1);
          assert.deepEqual(job.tasks.total, objects.size);
          for (const [key, body] of objects) {
            const out = await s3b.send(new GetObjectCommand({ Bucket: 'crash-out', Key: key }));
            const bytes = await (
              out.Body as { transformToByteArray(): Promise<Uint8Array> }
            ).transformToByteArray();
            assert.equal(sha(bytes), sha(body), key);
          }
          const counts = (await (await api('/admin/requests/crash-out')).json()) as {
            putsByKey: Record<string, number>;
          };
          for (const key of finished)
            assert.equal(counts.putsByKey[key] ?? 0, 0, `${key} was whole before the restart`);
          if (large) {
            for (let part = 1; part <= (large.partsDone ?? 0); part++)
              assert.equal(
                counts.putsByKey[`${LARGE}#${part}`] ?? 0,
                0,
                `part ${part} was checkpointed`,
              );
          }
          // Finished tasks keep their attempts across the restart.
          const after = new Map((await tasksNow()).map((t) => [t.key, t.attempts]));
          for (const [key, attempts] of doneInLog) assert.equal(after.get(key), attempts, key);
        } finally {
          s3b.destroy();
          second.child.kill('SIGTERM');
          await once(second.child, 'exit');
        }
      } finally {
        await dir.remove();
      }
    });
  }
});

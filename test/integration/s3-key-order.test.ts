/**
 * Listings on the local cloud's S3 come in S3's order, by UTF-8 bytes, and paging through them
 * with the SDK's paginator yields every key once, whatever the page size (fauxqs alone skipped
 * mixed-case keys at page boundaries); so a replication plan, which walks two listings together
 * in that order, finds the true diff.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CreateBucketCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { bucketSide } from '../../shared/aws/replication/bucket-side.ts';
import { newJob } from '../../shared/replication/job.ts';
import { planJob } from '../../shared/replication/planner.ts';
import type { ReplicationTask } from '../../shared/replication/task.ts';
import { startLoneS3 } from '../helpers/local-cloud.ts';

const Bucket = 'key-order';
/** Base64url-like names, as slice keys are, and a few beyond ASCII. */
const KEYS = ['s/a', 's/B', 's/_x', 's/-y', 's/9', 's/Zz', 's/z', 's/é', 's/d/1', 's/d/2', 's/D/1'];
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
let s3: S3Client;
let stop: () => Promise<void>;

before(async () => {
  ({ s3, stop } = await startLoneS3('dsn-s3-key-order', Bucket));
  for (const Key of KEYS) await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
});

after(async () => {
  await stop?.();
});

async function listAll(opts: { PageSize: number; Delimiter?: string }) {
  const keys: string[] = [];
  const prefixes: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: s3, pageSize: opts.PageSize },
    { Bucket, Prefix: 's/', ...(opts.Delimiter ? { Delimiter: opts.Delimiter } : {}) },
  )) {
    keys.push(...(page.Contents ?? []).map((o) => o.Key as string));
    prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string));
  }
  return { keys, prefixes };
}

test('every page size lists each key once, by UTF-8 bytes', async () => {
  for (const PageSize of [1, 2, 3, 1000]) {
    const { keys } = await listAll({ PageSize });
    assert.deepEqual(keys, [...KEYS].sort(byBytes), `pages of ${PageSize}`);
  }
});

test('with a delimiter, keys and common prefixes each come once, by UTF-8 bytes', async () => {
  for (const PageSize of [1, 2, 1000]) {
    const { keys, prefixes } = await listAll({ PageSize, Delimiter: '/' });
    assert.deepEqual(
      keys,
      KEYS.filter((k) => !k.startsWith('s/d/') && !k.startsWith('s/D/')).sort(byBytes),
      `pages of ${PageSize}`,
    );
    assert.deepEqual(prefixes, ['s/D/', 's/d/'], `pages of ${PageSize}`);
  }
});

test('a replication plan between two buckets of mixed-case keys copies what is missing and deletes only what the source lacks', async () => {
  // Prepare: the planner walks both listings together by UTF-8 bytes, so a listing in another
  // order made it take "B" on the destination for extraneous, as it met "a" first.
  await s3.send(new CreateBucketCommand({ Bucket: 'plan-src' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'plan-dst' }));
  for (const Key of ['a', 'B', 'c', 'Z'])
    await s3.send(new PutObjectCommand({ Bucket: 'plan-src', Key, Body: Key }));
  for (const Key of ['B', 'Z', 'zz'])
    await s3.send(new PutObjectCommand({ Bucket: 'plan-dst', Key, Body: Key }));
  const tasks: ReplicationTask[] = [];
  const job = newJob(
    {
      source: { bucket: 'plan-src', prefix: '' },
      destination: { bucket: 'plan-dst', prefix: '' },
      deleteExtraneous: true,
      rebalance: false,
    },
    { id: 'r1', partSize: 8 * 1024 * 1024, at: new Date() },
  );

  // Act
  await planJob(
    {
      log: { putTasks: async (batch) => void tasks.push(...batch), getJob: async () => job },
      sides: (side) => bucketSide(s3, (side as { bucket: string }).bucket),
    },
    job,
  );

  // Assess
  assert.deepEqual(
    tasks.map((t) => `${t.kind} ${t.key}`),
    ['copy a', 'copy c', 'delete zz'],
  );
});

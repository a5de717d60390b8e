/**
 * The local S3 store after a crash: what a process killed between fauxqs's two file writes (or
 * two unlinks) leaves on disk is finished one way or the other on the next start, so S3 lists
 * only objects it can serve, and nothing stays on disk that the API cannot reach.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type FauxqsHandle, startS3SnsSqs } from '../../infra/local/fauxqs.ts';
import { tempDir } from '../helpers/local-cloud.ts';

const BUCKET = 'unit-recovery';

let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
let running: FauxqsHandle | undefined;
after(async () => {
  await running?.stop();
  await dir?.remove();
});

async function start(dataDir: string, log: string[]): Promise<S3Client> {
  running = await startS3SnsSqs({
    port: 0,
    dataDir,
    region: 'us-east-1',
    portVariable: 'DSN_AWS_PORT',
    log: (line) => log.push(line),
  });
  return new S3Client({
    endpoint: running.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

async function stop(): Promise<void> {
  await running?.stop();
  running = undefined;
}

test('half-written and half-deleted objects are finished on restart; whole ones are kept', async () => {
  // Prepare: five objects stored through the API, then the states a SIGKILL can leave.
  dir = await tempDir('dsn-s3-recovery');
  const objectsDir = join(dir.path, 's3', 'buckets', BUCKET, 'objects');
  const first = await start(dir.path, []);
  await first.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const bodies: Record<string, Buffer> = {
    'kept/one': Buffer.from('one whole object'),
    'kept/empty': Buffer.alloc(0),
    // Folders named like object files.
    'kept.data/inside': Buffer.from('under a folder named x.data'),
    'kept.meta.json/inside': Buffer.from('under a folder named x.meta.json'),
    'deleting/two': Buffer.from('a delete killed between its two unlinks'),
    'overwriting/three': Buffer.from('a body cut short'),
    'garbled/four': Buffer.from('metadata torn'),
  };
  for (const [Key, Body] of Object.entries(bodies)) {
    await first.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  }
  await stop();
  // A PUT killed after its body and before its metadata.
  await mkdir(join(objectsDir, 'putting'));
  await writeFile(join(objectsDir, 'putting', 'half.data'), 'x');
  // fauxqs unlinks the body first, then the metadata.
  await rm(join(objectsDir, 'deleting', 'two.data'));
  await truncate(join(objectsDir, 'overwriting', 'three.data'), 3);
  await writeFile(join(objectsDir, 'garbled', 'four.meta.json'), '{"key":"garbled/fo');

  // Act
  const log: string[] = [];
  const again = await start(dir.path, log);
  const listed = await again.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  const one = await again.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kept/one' }));
  const empty = await again.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kept/empty' }));
  const onDisk = (await readdir(objectsDir, { recursive: true })).sort();
  await stop();
  const quiet: string[] = [];
  await start(dir.path, quiet);

  // Assess
  assert.deepEqual(
    (listed.Contents ?? []).map((o) => o.Key).sort(),
    ['kept.data/inside', 'kept.meta.json/inside', 'kept/empty', 'kept/one'],
    'S3 lists only objects whose bodies are whole',
  );
  assert.deepEqual(Buffer.from(await (one.Body?.transformToByteArray() ?? [])), bodies['kept/one']);
  assert.equal((await empty.Body?.transformToByteArray())?.length, 0);
  assert.deepEqual(
    onDisk,
    [
      'kept',
      'kept.data',
      'kept.data/inside.data',
      'kept.data/inside.meta.json',
      'kept.meta.json',
      'kept.meta.json/inside.data',
      'kept.meta.json/inside.meta.json',
      'kept/empty.data',
      'kept/empty.meta.json',
      'kept/one.data',
      'kept/one.meta.json',
    ],
    'no file is left that the API cannot reach, and no empty folder',
  );
  assert.equal(log.length, 1);
  assert.match(log[0] as string, /removed 1 bodies without metadata and 3 objects/);
  assert.deepEqual(quiet, [], 'a clean store is left alone');
});

/**
 * Ranged GETs in the local cloud's S3 read their range from disk, not the whole object
 * (s3-ranged-reads.ts), and answer what S3 answers: the bytes, Content-Range and 206 for every
 * form of range, 416 for one past the end, parts of a multipart object, and whole GETs as
 * before. The view counters show what each read took from disk.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type FauxqsHandle, startS3SnsSqs } from '../../infra/local/fauxqs.ts';
import { rangedReads } from '../../infra/local/s3-ranged-reads.ts';
import { putInParts, tempDir } from '../helpers/local-cloud.ts';

const BUCKET = 'ranges';
const MiB = 1024 * 1024;

let dir: Awaited<ReturnType<typeof tempDir>>;
let running: FauxqsHandle;
let s3: S3Client;
/** 24 MiB, stored in three parts of 8 MiB (fauxqs takes up to about 10 MiB in one PUT). */
const big = randomBytes(24 * MiB);

before(async () => {
  dir = await tempDir('dsn-s3-ranges');
  running = await startS3SnsSqs({
    port: 0,
    dataDir: dir.path,
    region: 'us-east-1',
    portVariable: 'DSN_AWS_PORT',
  });
  s3 = new S3Client({
    endpoint: running.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await putInParts(s3, BUCKET, 'big.bin', big, 8 * MiB);
});

after(async () => {
  s3?.destroy();
  await running?.stop();
  await dir?.remove();
});

/** A GET of `big.bin` with these headers: status, Content-Range and body, and what it read. */
async function get(headers: Record<string, string>, query = '') {
  const before = { ...rangedReads };
  const res = await fetch(`${running.url}/${BUCKET}/big.bin${query}`, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    range: res.headers.get('content-range'),
    body,
    views: rangedReads.views - before.views,
    bytesRead: rangedReads.bytesRead - before.bytesRead,
  };
}

test('every form of range answers its bytes with 206, reading only them from disk', async () => {
  const size = big.length;
  const cases: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 1],
    ['bytes=0-1023', 0, 1024],
    [`bytes=${5 * MiB + 7}-${13 * MiB}`, 5 * MiB + 7, 13 * MiB + 1],
    [`bytes=${size - 100}-`, size - 100, size],
    ['bytes=-4096', size - 4096, size],
    [`bytes=${size - 10}-${size + 1000}`, size - 10, size],
  ];
  for (const [range, from, to] of cases) {
    const got = await get({ range });

    assert.equal(got.status, 206, range);
    assert.equal(got.range, `bytes ${from}-${to - 1}/${size}`, range);
    assert.ok(got.body.equals(big.subarray(from, to)), `${range}: the bytes of the range`);
    assert.deepEqual([got.views, got.bytesRead], [1, to - from], `${range}: read its range only`);
  }
});

test('a range past the end is a 416; a part of a multipart object is its bytes', async () => {
  const past = await get({ range: `bytes=${big.length}-` });
  const part = await s3.send(
    new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin', PartNumber: 2 }),
  );
  const partBody = Buffer.from(await (part.Body?.transformToByteArray() ?? new Uint8Array()));
  const partWithRange = await get({ range: 'bytes=0-99' }, '?partNumber=3');

  assert.equal(past.status, 416);
  assert.equal(past.bytesRead, 0);
  assert.ok(partBody.equals(big.subarray(8 * MiB, 16 * MiB)), 'part 2, read whole');
  assert.equal(partWithRange.status, 206);
  assert.ok(
    partWithRange.body.equals(big.subarray(16 * MiB, 24 * MiB)),
    'part 3 wins over a range',
  );
  assert.equal(partWithRange.bytesRead, 8 * MiB, 'the part, not the object');
});

test('a GET without a range, and conditional GETs with one, answer as before', async () => {
  const whole = await get({});
  const etag = (
    await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin', Range: 'bytes=0-0' }))
  ).ETag as string;
  const unchanged = await get({ range: 'bytes=0-9', 'if-none-match': etag });
  const mismatch = await get({ range: 'bytes=0-9', 'if-match': '"not-it"' });
  const match = await get({ range: 'bytes=0-9', 'if-match': etag });

  assert.equal(whole.status, 200);
  assert.ok(whole.body.equals(big), 'every byte');
  assert.equal(whole.views, 0, 'a whole GET reads as fauxqs does');
  assert.equal(unchanged.status, 304);
  assert.equal(unchanged.bytesRead, 0);
  assert.equal(mismatch.status, 412);
  assert.equal(match.status, 206);
  assert.ok(match.body.equals(big.subarray(0, 10)));
});

test('a small object PUT in one request reads by ranges too, and a replaced one gives its new bytes', async () => {
  const first = randomBytes(300_000);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'small.bin', Body: first }));
  const a = await fetch(`${running.url}/${BUCKET}/small.bin`, {
    headers: { range: 'bytes=1000-1999' },
  });
  const second = randomBytes(200_000);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'small.bin', Body: second }));
  const b = await fetch(`${running.url}/${BUCKET}/small.bin`, {
    headers: { range: 'bytes=1000-1999' },
  });

  assert.equal(a.status, 206);
  assert.ok(Buffer.from(await a.arrayBuffer()).equals(first.subarray(1000, 2000)));
  assert.equal(b.status, 206);
  assert.equal(b.headers.get('content-range'), 'bytes 1000-1999/200000');
  assert.ok(Buffer.from(await b.arrayBuffer()).equals(second.subarray(1000, 2000)));
});

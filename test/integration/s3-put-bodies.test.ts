/**
 * PutObject bodies in the local cloud's S3: read into reused buffers (s3-body-pool.ts) and
 * written to disk ahead of fauxqs's handler, then renamed into place (s3-incoming.ts). What a
 * client sees must be S3's: every byte back under every key fauxqs can name, metadata that
 * describes the body it goes with, refusals that store nothing, and no file left behind by a
 * refused, abandoned or interrupted PUT.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, mock, test } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { type FauxqsHandle, startS3SnsSqs } from '../../infra/local/fauxqs.ts';
import { WRITE_PIECE } from '../../infra/local/piecewise-writes.ts';
import { putBodyPool } from '../../infra/local/s3-body-pool.ts';
import { digestCounts } from '../../infra/local/s3-digests.ts';
import { INCOMING, landings } from '../../infra/local/s3-incoming.ts';
import { presignedUrl } from '../../shared/aws/presign.ts';
import { tempDir } from '../helpers/local-cloud.ts';

const BUCKET = 'put-bodies';
const KiB = 1024;

let dir: Awaited<ReturnType<typeof tempDir>>;
let running: FauxqsHandle | undefined;
let s3: S3Client;

async function start(log: string[] = []): Promise<void> {
  running = await startS3SnsSqs({
    port: 0,
    dataDir: dir.path,
    region: 'us-east-1',
    portVariable: 'DSN_AWS_PORT',
    log: (line) => log.push(line),
  });
  s3 = new S3Client({
    endpoint: running.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

async function stop(): Promise<void> {
  s3?.destroy();
  await running?.stop();
  running = undefined;
}

before(async () => {
  dir = await tempDir('dsn-s3-put-bodies');
  await start();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
after(async () => {
  await stop();
  await dir.remove();
});

const incoming = () => readdir(join(dir.path, 's3', INCOMING));

/** Waits (bounded) for the incoming folder to empty: a refused body is removed on close. */
async function incomingEmpties(): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const left = await incoming();
    if (left.length === 0) return;
    if (Date.now() > deadline) assert.fail(`incoming still holds ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function get(Key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
  return Buffer.from(
    await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

const md5 = (b: Uint8Array) => `"${createHash('md5').update(b).digest('hex')}"`;

test('large bodies land and are renamed in under every key fauxqs can name; small ones are written as before', async () => {
  // Prepare: every character fauxqs percent-encodes in file names, folders, and sizes on either
  // side of the pool's threshold and of a write piece.
  const keys = [
    'plain',
    'deep/er/still',
    'odd <>:"|?*\\% name',
    'ctl\u0001\u001f',
    'x.data',
    'x.data/inside',
  ];
  const sizes = [1, 64 * KiB - 1, 64 * KiB, 512 * KiB + 1, 2 * 1024 * KiB + 77];
  const landedBefore = landings.taken;
  const etagsBefore = digestCounts.etagsTaken;
  const bodies = new Map<string, Buffer>();
  for (const key of keys) for (const size of sizes) bodies.set(`${key}@${size}`, randomBytes(size));

  // Act
  for (const [Key, Body] of bodies)
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));

  // Assert: each body back whole, its ETag the MD5 of its bytes, none left in incoming.
  for (const [Key, Body] of bodies) {
    assert.deepEqual(await get(Key), Body, Key);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
    assert.equal(head.ETag, md5(Body), Key);
    assert.equal(head.ContentLength, Body.length, Key);
  }
  const large = [...bodies.values()].filter((b) => b.length >= 64 * KiB).length;
  assert.equal(landings.taken - landedBefore, large, 'every body of 64 KiB or more landed');
  assert.equal(
    digestCounts.etagsTaken - etagsBefore,
    large,
    'the ETag of every body of 64 KiB or more was hashed off the loop',
  );
  assert.deepEqual(await incoming(), []);
});

test('checksums are checked with digests computed off the loop: CRC32 and SHA-256, right and wrong, concurrent', async () => {
  // Prepare: bodies sent at once, each with a checksum header, every third one wrong.
  const bodies = Array.from({ length: 9 }, (_, i) => randomBytes(300 * KiB + i));
  const crc = (b: Buffer) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(crc32(b) >>> 0);
    return out.toString('base64');
  };
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('base64');
  const before = { ...digestCounts };

  // Act
  const results = await Promise.allSettled(
    bodies.map((Body, i) => {
      const claimed = i % 3 === 2 ? randomBytes(8) : Body;
      return s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: `digests/${i}`,
          Body,
          ...(i % 2 === 0 ? { ChecksumCRC32: crc(claimed) } : { ChecksumSHA256: sha(claimed) }),
        }),
      );
    }),
  );

  // Assert: the right ones stored with S3's ETag, the wrong ones refused as S3 does.
  for (const [i, result] of results.entries()) {
    if (i % 3 === 2) {
      assert.equal(result.status, 'rejected', `digests/${i}`);
      assert.equal((result as PromiseRejectedResult).reason.name, 'BadDigest');
      continue;
    }
    assert.equal(result.status, 'fulfilled', `digests/${i}`);
    assert.equal(
      (result as PromiseFulfilledResult<{ ETag?: string }>).value.ETag,
      md5(bodies[i] as Buffer),
    );
    assert.deepEqual(await get(`digests/${i}`), bodies[i]);
  }
  assert.equal(digestCounts.hashed - before.hashed, bodies.length);
  assert.equal(digestCounts.checksumsTaken - before.checksumsTaken, bodies.length);
  assert.equal(digestCounts.etagsTaken - before.etagsTaken, 6, 'refused bodies get no ETag');
  assert.equal(digestCounts.failed, before.failed);
  await incomingEmpties();
});

test('pooled buffers are reused only once their PUT is answered: concurrent and successive bodies stay intact', async () => {
  // Prepare: more bodies at once than the pool holds idle, of the same size, then again.
  const reusedBefore = putBodyPool.reused;
  const rounds = [0, 1, 2].map(() => Array.from({ length: 8 }, () => randomBytes(700 * KiB)));

  // Act
  for (const [r, round] of rounds.entries()) {
    await Promise.all(
      round.map((Body, i) =>
        s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `pool/${r}/${i}`, Body })),
      ),
    );
  }

  // Assert
  for (const [r, round] of rounds.entries()) {
    for (const [i, body] of round.entries()) assert.deepEqual(await get(`pool/${r}/${i}`), body);
  }
  assert.ok(putBodyPool.reused > reusedBefore, 'later rounds took buffers of earlier ones');
});

test('an aws-chunked body of known length is stored decoded, and nothing lands for it', async () => {
  // Prepare: boto3 and the AWS CLI send aws-chunked bodies with their Content-Length.
  const body = randomBytes(300 * KiB);
  const encoded = Buffer.concat([
    Buffer.from(`${(200 * KiB).toString(16)}\r\n`),
    body.subarray(0, 200 * KiB),
    Buffer.from(`\r\n${(100 * KiB).toString(16)}\r\n`),
    body.subarray(200 * KiB),
    Buffer.from('\r\n0\r\n\r\n'),
  ]);
  const landedBefore = landings.landed;

  // Act
  const res = await fetch(new URL(`/${BUCKET}/chunked`, running?.url), {
    method: 'PUT',
    body: new Uint8Array(encoded),
    headers: {
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(body.length),
      'content-type': 'application/octet-stream',
    },
  });

  // Assert
  assert.equal(res.status, 200, await res.text());
  assert.deepEqual(await get('chunked'), body);
  assert.equal(landings.landed, landedBefore, 'no encoded body written ahead');
});

test('racing PUTs of one key leave one of their bodies with its own metadata', async () => {
  // Prepare
  const bodies = Array.from({ length: 6 }, (_, i) => randomBytes(300 * KiB + i));

  // Act
  await Promise.all(
    bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'race', Body }))),
  );

  // Assert
  const got = await get('race');
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'race' }));
  assert.ok(
    bodies.some((b) => b.equals(got)),
    'the stored body is one that was sent',
  );
  assert.equal(head.ETag, md5(got));
  assert.equal(head.ContentLength, got.length);
});

test('a presigned PUT lands too, and one whose bytes miss their checksum stores nothing', async () => {
  // Prepare
  const body = randomBytes(256 * KiB);
  const checksum = (b: Buffer) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(crc32(b) >>> 0);
    return out.toString('base64');
  };
  const put = async (Key: string, sent: Buffer, signedFor: Buffer) => {
    const url = await presignedUrl(
      s3,
      new PutObjectCommand({ Bucket: BUCKET, Key, ChecksumCRC32: checksum(signedFor) }),
      60,
      { signedHeaders: ['x-amz-checksum-crc32'] },
    );
    const res = await fetch(url, {
      method: 'PUT',
      body: new Uint8Array(sent),
      headers: { 'x-amz-checksum-crc32': checksum(signedFor) },
    });
    return { status: res.status, text: await res.text() };
  };
  const landedBefore = landings.taken;
  const corrupt = Buffer.from(body);
  corrupt[1000] = (corrupt[1000] as number) ^ 0xff;

  // Act
  const good = await put('presigned/good', body, body);
  const bad = await put('presigned/bad', corrupt, body);

  // Assert
  assert.equal(good.status, 200, good.text);
  assert.deepEqual(await get('presigned/good'), body);
  assert.equal(landings.taken - landedBefore, 1);
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.text, /BadDigest/);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'presigned/' }));
  assert.deepEqual(
    listed.Contents?.map((o) => o.Key),
    ['presigned/good'],
  );
  await incomingEmpties();
});

/** Sends a PUT's headers and `sent` bytes of a body declared `declared` long, then acts. */
function rawPut(
  path: string,
  declared: number,
  sent: Buffer,
  then: 'end' | 'abort',
): Promise<{ status: number; body: string } | 'aborted'> {
  const url = new URL(path, running?.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'PUT',
        headers: { 'content-length': String(declared), 'content-type': 'application/octet-stream' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', (err) => (then === 'abort' ? resolve('aborted') : reject(err)));
    req.write(sent, () => {
      if (then === 'abort') {
        req.destroy();
        resolve('aborted');
      } else req.end();
    });
  });
}

test('bodies that end short, run over the limit, or are abandoned store nothing and leave nothing', async () => {
  // Prepare
  const before = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'cut/' }));
  assert.equal(before.KeyCount, 0);

  // Act: a client that leaves mid-body, and one declaring more than the 11 MiB fauxqs takes.
  const left = await rawPut(`/${BUCKET}/cut/left`, 1024 * KiB, randomBytes(100 * KiB), 'abort');
  const tooLarge = await rawPut(`/${BUCKET}/cut/large`, 12 * 1024 * KiB, Buffer.alloc(0), 'end');

  // Assert
  assert.equal(left, 'aborted');
  assert.notEqual(tooLarge, 'aborted');
  assert.equal((tooLarge as { status: number }).status, 413);
  // The emulator still serves, and the buffer the abandoned PUT held did not go back dirty.
  const after = randomBytes(1024 * KiB);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cut/after', Body: after }));
  assert.deepEqual(await get('cut/after'), after);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'cut/' }));
  assert.deepEqual(
    listed.Contents?.map((o) => o.Key),
    ['cut/after'],
  );
  await incomingEmpties();
});

test('multipart parts and the completed object are written to disk in pieces', async () => {
  // Prepare: a part over S3's 5 MiB minimum, and a last one.
  const parts = [randomBytes(5 * 1024 * KiB + 3), randomBytes(1024 * KiB + 5)];
  const writes = mock.method(fs, 'writeSync');

  // Act
  let longest = 0;
  try {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi' }),
    );
    const done = [];
    for (const [i, Body] of parts.entries()) {
      const { ETag } = await s3.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: 'multi', UploadId, PartNumber: i + 1, Body }),
      );
      done.push({ ETag, PartNumber: i + 1 });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'multi',
        UploadId,
        MultipartUpload: { Parts: done },
      }),
    );
    longest = Math.max(0, ...writes.mock.calls.map((c) => Number(c.arguments[3] ?? 0)));
  } finally {
    writes.mock.restore();
  }

  // Assert
  assert.deepEqual(await get('multi'), Buffer.concat(parts));
  assert.ok(longest > 0, 'the emulator wrote through fs.writeSync');
  assert.ok(longest <= WRITE_PIECE, `a write() of ${longest} bytes`);
});

test('a body landed by a run that died before its handler is removed on the next start', async () => {
  // Prepare: an object stored before, then what a SIGKILL between a landing and its rename
  // leaves.
  const kept = randomBytes(128 * KiB);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept', Body: kept }));
  await stop();
  await writeFile(join(dir.path, 's3', INCOMING, 'a-put-never-answered'), randomBytes(4 * KiB));
  const log: string[] = [];

  // Act
  await start(log);

  // Assert
  assert.deepEqual(await incoming(), []);
  assert.ok(
    log.some((line) => /removed 1 bodies without metadata/.test(line)),
    log.join('\n'),
  );
  assert.deepEqual(await get('kept'), kept);
});

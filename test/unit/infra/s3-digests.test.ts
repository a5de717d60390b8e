/**
 * The local S3's off-loop digests (infra/local/s3-digests.ts): what a digest thread computes for
 * a shared body, and the MD5 hash that answers a known digest only when fed exactly that body.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32 } from 'node:zlib';
import {
  DigestThreads,
  digestPutBody,
  knownDigest,
  md5Knowing,
} from '../../../infra/local/s3-digests.ts';

const md5 = (...parts: Uint8Array[]) => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
/** A body in shared memory, as the local S3's pool reads it. */
const sharedBody = (bytes: Buffer) => {
  const body = Buffer.from(new SharedArrayBuffer(bytes.length + 100), 50, bytes.length);
  bytes.copy(body);
  return body;
};
const put = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

test('a digest thread computes a shared body’s MD5 and the checksum its headers name', async () => {
  // Prepare
  const bytes = randomBytes(3 * 1024 * 1024 + 5);
  const body = sharedBody(bytes);
  const both = sharedBody(bytes);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(bytes) >>> 0);

  // Act
  await Promise.all([
    digestPutBody(put({ 'x-amz-checksum-crc32': 'claimed' }), body),
    digestPutBody(put({ 'x-amz-checksum-sha256': 'x', 'x-amz-checksum-sha1': 'y' }), both),
  ]);

  // Assert: the body's own digests, whatever the header claimed; none it did not name.
  assert.equal(knownDigest(body, 'MD5'), md5(bytes));
  assert.equal(knownDigest(body, 'CRC32'), crc.toString('base64'));
  assert.equal(knownDigest(body, 'SHA256'), undefined);
  assert.equal(knownDigest(both, 'SHA256'), createHash('sha256').update(bytes).digest('base64'));
  assert.equal(knownDigest(both, 'SHA1'), createHash('sha1').update(bytes).digest('base64'));
  assert.equal(knownDigest(both, 'CRC32'), undefined);
});

test('bodies in memory of their own, and aws-chunked ones, are left to their handler', async () => {
  // Prepare
  const own = randomBytes(1024);
  const chunked = sharedBody(randomBytes(1024));

  // Act
  await digestPutBody(put({}), own);
  await digestPutBody(put({ 'content-encoding': 'aws-chunked' }), chunked);

  // Assert
  assert.equal(knownDigest(own, 'MD5'), undefined);
  assert.equal(knownDigest(chunked, 'MD5'), undefined);
});

test('an MD5 hash knowing a body answers its digest when fed exactly it, and hashes anything else', () => {
  // Prepare: a "known" digest that is not the body's, to tell it from a computed one.
  const body = randomBytes(4096);
  const other = randomBytes(100);
  const known = 'ab'.repeat(16);
  const knowing = () => md5Knowing(createHash('md5'), body, known);

  // Act / Assert
  assert.equal(knowing().update(body).digest('hex'), known);
  assert.deepEqual(knowing().update(body).digest(), Buffer.from(known, 'hex'));
  assert.equal(
    knowing().update(body).digest('base64'),
    Buffer.from(known, 'hex').toString('base64'),
  );
  assert.equal(knowing().update(body).update(other).digest('hex'), md5(body, other));
  assert.equal(knowing().update(other).update(body).digest('hex'), md5(other, body));
  assert.equal(knowing().update(body).update(body).digest('hex'), md5(body, body));
  assert.equal(
    knowing().update(Buffer.from(body)).digest('hex'),
    md5(body),
    'equal bytes, another buffer',
  );
  assert.equal(knowing().update('text', 'utf8').digest('hex'), md5(Buffer.from('text')));
});

test('bodies hashed once and let go do not stay in memory', async () => {
  // Prepare: this process's own collector, as a test may have it.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  setFlagsFromString('--no-expose-gc');
  const MiB = 1024 * 1024;
  const before = process.memoryUsage().rss;

  // Act: 100 bodies of 8 MiB, each in shared memory of its own, hashed, then dropped.
  let peak = 0;
  for (let i = 0; i < 100; i++) {
    const body = Buffer.from(new SharedArrayBuffer(8 * MiB));
    body.fill(i);
    await digestPutBody(put({}), body);
    if (i % 10 === 9) {
      gc();
      peak = Math.max(peak, process.memoryUsage().rss - before);
    }
  }

  // Assert: the 800 MiB went; what stays is about one collection's worth (256 MiB).
  assert.ok(peak < 500 * MiB, `memory grew by ${(peak / MiB).toFixed(0)} MiB`);
});

test('a digest thread that dies fails the requests it had, and the next request gets a new one', async () => {
  // Prepare
  const threads = new DigestThreads(1);
  const big = sharedBody(randomBytes(64 * 1024 * 1024));
  const small = sharedBody(randomBytes(1000));

  // Act: the thread is stopped while it hashes 64 MiB.
  const lost = assert.rejects(threads.digest(big, ['MD5', 'SHA256']), /digest thread exited/);
  await threads.close();
  const after = await threads.digest(small, ['MD5']);
  await threads.close();

  // Assert
  await lost;
  assert.equal(after.MD5, md5(small));
});

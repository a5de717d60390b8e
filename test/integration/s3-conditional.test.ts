/**
 * S3 conditional writes on the local cloud's S3: `If-None-Match: *` creates a key once, refuses
 * it afterwards with 412, and of two racing creates exactly one wins, as on S3.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startLoneS3 } from '../helpers/local-cloud.ts';

const Bucket = 'unit-conditional';
let s3: S3Client;
let url: string;
let stop: () => Promise<void>;

before(async () => {
  ({ s3, url, stop } = await startLoneS3('dsn-s3-conditional', Bucket));
});

after(async () => {
  await stop?.();
});

const text = async (Key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString();
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: Error) => err.name,
  );

test('a create-only PUT stores a new key, and is refused with 412 once the key holds an object', async () => {
  // Act
  const first = await errorOf(
    s3.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'first', IfNoneMatch: '*' })),
  );
  const second = await errorOf(
    s3.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'second', IfNoneMatch: '*' })),
  );
  const plain = await errorOf(s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: 'a' })));
  const overwrite = await errorOf(
    s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: 'b' })),
  );

  // Assess
  assert.deepEqual([first, second], ['ok', 'PreconditionFailed']);
  assert.equal(await text('once'), 'first', 'the refused PUT left the object alone');
  assert.deepEqual([plain, overwrite], ['ok', 'ok'], 'PUTs without the condition overwrite');
  assert.equal(await text('plain'), 'b');
});

test('a create-only PUT arriving while another of the same key is still uploading gets 409', async () => {
  // Prepare: the first create sends its headers and half its body, then waits.
  const { hostname, port } = new URL(url);
  const raw = (key: string, length: number) =>
    request({
      host: hostname,
      port,
      method: 'PUT',
      path: `/${Bucket}/${key}`,
      headers: { 'if-none-match': '*', 'content-length': length },
    });
  const first = raw('slow-create', 8);
  const firstStatus = new Promise<number>((resolve, reject) => {
    first.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    first.on('error', reject);
  });
  await new Promise<void>((resolve) => first.write('half', () => resolve()));
  // The emulator runs on this event loop: once the head is in the kernel, the next poll phase
  // reads it, and two turns of the loop later the first create is surely under way.
  for (let turn = 0; turn < 2; turn++) await new Promise((r) => setImmediate(r));

  // Act
  const racing = await errorOf(
    s3.send(new PutObjectCommand({ Bucket, Key: 'slow-create', Body: 'other', IfNoneMatch: '*' })),
  );
  first.end('full');
  const finished = await firstStatus;
  const after = await errorOf(
    s3.send(new PutObjectCommand({ Bucket, Key: 'slow-create', Body: 'late', IfNoneMatch: '*' })),
  );

  // Assess
  assert.equal(racing, 'ConditionalRequestConflict');
  assert.equal(finished, 200);
  assert.equal(await text('slow-create'), 'halffull');
  assert.equal(after, 'PreconditionFailed');
});

test('a malformed percent escape in a key gets 400, and the emulator keeps serving', async () => {
  // Act
  const { hostname, port } = new URL(url);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        method: 'PUT',
        path: `/${Bucket}/bad%zzkey`,
        headers: { 'if-none-match': '*', 'content-length': 1 },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end('x');
  });
  const still = await errorOf(s3.send(new PutObjectCommand({ Bucket, Key: 'alive', Body: 'y' })));

  // Assess
  assert.equal(status, 400);
  assert.equal(still, 'ok');
});

test('of concurrent create-only PUTs of one key, exactly one succeeds; the others get 409 or 412', async () => {
  // Act
  const bodies = Array.from({ length: 6 }, (_, i) => `racer ${i} `.repeat(50_000));
  const outcomes = await Promise.all(
    bodies.map((Body) =>
      errorOf(s3.send(new PutObjectCommand({ Bucket, Key: 'race', Body, IfNoneMatch: '*' }))),
    ),
  );

  // Assess
  assert.equal(outcomes.filter((o) => o === 'ok').length, 1, outcomes.join(', '));
  for (const o of outcomes.filter((x) => x !== 'ok')) {
    assert.ok(['ConditionalRequestConflict', 'PreconditionFailed'].includes(o), o);
  }
  const winner = bodies[outcomes.indexOf('ok')];
  assert.equal(await text('race'), winner, 'the stored bytes are those of the PUT that succeeded');
});

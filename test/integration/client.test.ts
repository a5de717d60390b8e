/**
 * `@dsn/client` against a local cloud, the way an application uses it: typed calls of the JSON
 * routes, a presigned and a staged upload of a file-backed Blob, streamed, ranged and
 * conditional reads, conditional writes, and a rebuild followed to its end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDsnClient, DsnApiError, type DsnClient } from '../../client/index.ts';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
  eventually,
  PROJECT_ROOT,
  startTestCloud,
  TEST_ROOT,
  tempDir,
} from '../helpers/local-cloud.ts';

const MiB = 1024 * 1024;

describe('@dsn/client on a local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let dsn: DsnClient;

  before(async () => {
    dir = await tempDir('dsn-client');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    dsn = createDsnClient({ endpoint: cloud.endpoints.api, credentials: TEST_ROOT });
    const { response } = await dsn.api.POST('/vaults', {
      body: { name: 'sdk', width: 5, readThreshold: 3, writeThreshold: 4, segmentSize: MiB },
    });
    assert.equal(response.status, 201);
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('typed calls: a vault is listed with its geometry, and a bad body is a 400 naming the field', async () => {
    // Act
    const listed = await dsn.api.GET('/vaults');
    const bad = await dsn.api.POST('/vaults', {
      body: { name: 'Not A Name', width: 3, readThreshold: 2, writeThreshold: 2 },
    });

    // Assess
    const vault = listed.data?.vaults.find((v) => v.name === 'sdk');
    assert.deepEqual([vault?.width, vault?.readThreshold], [5, 3]);
    assert.equal(bad.response.status, 400);
    assert.match(JSON.stringify(bad.error), /name: must be 3-63 lowercase letters/);
  });

  test('a presigned and a staged upload of a file commit and read back exact, whole, streamed and by range', async () => {
    // Prepare
    const body = randomBytes(19 * MiB + 11);
    const file = join(dir.path, 'big.bin');
    await writeFile(file, body);
    const progress: number[] = [];

    // Act
    const presigned = await dsn.upload('sdk', 'up/presigned.bin', await openAsBlob(file), {
      contentType: 'video/mp4',
      onProgress: (sent) => progress.push(sent),
    });
    const staged = await dsn.upload('sdk', 'up/staged.bin', await openAsBlob(file), {
      via: 'staged',
    });
    const whole = await dsn.getObject('sdk', 'up/presigned.bin');
    const chunks: Buffer[] = [];
    for await (const chunk of whole.body as unknown as AsyncIterable<Uint8Array>)
      chunks.push(Buffer.from(chunk));
    const range = await dsn.getObject('sdk', 'up/staged.bin', {
      range: { start: 5 * MiB - 3, end: 5 * MiB + 2 },
    });
    const head = await dsn.headObject('sdk', 'up/presigned.bin');

    // Assess
    assert.equal(presigned.size, body.length);
    assert.equal(staged.sha256, presigned.sha256);
    assert.equal(Buffer.compare(Buffer.concat(chunks), body), 0);
    assert.equal(range.status, 206);
    assert.deepEqual(
      Buffer.from(await range.arrayBuffer()),
      body.subarray(5 * MiB - 3, 5 * MiB + 3),
    );
    assert.equal(head?.get('content-length'), String(body.length));
    assert.equal(head?.get('content-type'), 'video/mp4');
    assert.equal(progress.at(-1), body.length);
  });

  test('conditional writes and reads: 412 on a stale If-Match and on create over an existing key, 304 while unchanged', async () => {
    // Prepare
    const first = await dsn.putObject('sdk', 'cond/a.txt', 'one', { contentType: 'text/plain' });

    // Act
    const created = await dsn
      .putObject('sdk', 'cond/a.txt', 'again', { ifNoneMatch: '*' })
      .catch((e: unknown) => e);
    const second = await dsn.putObject('sdk', 'cond/a.txt', 'two', { ifMatch: first.sha256 });
    const stale = await dsn
      .putObject('sdk', 'cond/a.txt', 'three', { ifMatch: first.sha256 })
      .catch((e: unknown) => e);
    const unchanged = await dsn.getObject('sdk', 'cond/a.txt', { ifNoneMatch: second.sha256 });
    const missing = await dsn.getObject('sdk', 'cond/none.txt').catch((e: unknown) => e);

    // Assess
    assert.ok(created instanceof DsnApiError && created.status === 412, String(created));
    assert.ok(stale instanceof DsnApiError && stale.status === 412, String(stale));
    assert.equal(unchanged.status, 304);
    assert.equal(await (await dsn.getObject('sdk', 'cond/a.txt')).text(), 'two');
    assert.ok(missing instanceof DsnApiError && missing.status === 404, String(missing));
  });

  test('a rebuild started with a typed call is followed to done', async () => {
    // Act
    const started = await dsn.api.POST('/vaults/{vault}/rebuild', {
      params: { path: { vault: 'sdk' } },
      body: {},
    });
    const done = await eventually(
      async () => {
        const { data } = await dsn.api.GET('/vaults/{vault}/rebuild', {
          params: { path: { vault: 'sdk' } },
        });
        return data?.state === 'done' ? data : undefined;
      },
      'the rebuild to finish',
      120_000,
    );

    // Assess
    assert.equal(started.response.status, 202);
    assert.equal(done.vault, 'sdk');
  });
});

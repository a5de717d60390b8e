/**
 * Seed 000 end to end on the local cloud, with the project's real handlers: the writer's
 * multicast, unit functions, the committer, reads, and the janitor. Units misbehave through the
 * fault-injection route, never through mocks.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
  createVault,
  everySliceStored,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';

const SEGMENT = 64 * 1024;

describe('objects in a 4-of-6 vault with T = 5', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let s3: S3Client;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const put = (key: string, body: Uint8Array, vault = 'small') =>
    api(`/vaults/${vault}/objects/${key}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(body),
    });
  const fault = (unit: number, mode: string) =>
    api(`/admin/units/${unit}/fault`, { method: 'PUT', body: JSON.stringify({ mode }) });
  const heal = (unit: number) => api(`/admin/units/${unit}/fault`, { method: 'DELETE' });

  /** Slice objects stored for a revision, across every unit bucket. */
  async function slicesOf(revision: string): Promise<number> {
    let count = 0;
    for (let unit = 0; unit < 9; unit++) {
      const out = await s3.send(
        new ListObjectsV2Command({ Bucket: cloud.ref(`Unit${unit}Bucket`) }),
      );
      count += (out.Contents ?? []).filter((o) => o.Key?.includes(`/${revision}/`)).length;
    }
    return count;
  }

  before(async () => {
    dir = await tempDir('dsn-objects');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    s3 = new S3Client({
      endpoint: cloud.endpoints.s3,
      region: cloud.service.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await createVault(api, { name: 'small', writeThreshold: 5, segmentSize: SEGMENT });
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('round trips are byte-exact for 0 B, 1 B, 4 KiB, one segment exactly, one byte over, and several segments', async () => {
    for (const size of [0, 1, 4096, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 777]) {
      // Prepare
      const body = randomBytes(size);

      // Act
      const res = await put(`sizes/${size}.bin`, body);
      const got = await api(`/vaults/small/objects/sizes/${size}.bin`);

      // Assess
      const meta = (await res.json()) as { size: number; sha256: string; revision: string };
      assert.equal(res.status, 201, `PUT ${size}: ${JSON.stringify(meta)}`);
      assert.equal(meta.size, size);
      assert.equal(meta.sha256, createHash('sha256').update(body).digest('hex'));
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('x-dsn-revision'), meta.revision);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), body, `GET ${size}`);
    }
  });

  test('a range read returns 206 with exactly the bytes asked, across segment boundaries', async () => {
    const body = randomBytes(3 * SEGMENT);
    assert.equal((await put('ranged.bin', body)).status, 201);
    const from = SEGMENT - 10;
    const to = 2 * SEGMENT + 10;
    const res = await api('/vaults/small/objects/ranged.bin', {
      headers: { range: `bytes=${from}-${to}` },
    });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes ${from}-${to}/${body.length}`);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), body.subarray(from, to + 1));
    const outside = await api('/vaults/small/objects/ranged.bin', {
      headers: { range: `bytes=${body.length}-` },
    });
    assert.equal(outside.status, 416);
  });

  test('a small range reads only the slices holding it, and falls back to decoding when one is bad', async () => {
    // Prepare: 64 KiB segments of 4 data shards of 16 KiB.
    const body = randomBytes(3 * SEGMENT);
    assert.equal((await put('shards.bin', body)).status, 201);
    // The PUT answered at T = 5: wait for the sixth unit too, or a read could find its slice
    // missing and decode, which this test counts.
    await everySliceStored(api, 'small', 'shards.bin');
    const slicesRead = async () => {
      const { units } = (await (await api('/admin/requests')).json()) as {
        units: Array<{ get: number }>;
      };
      return units.reduce((sum, u) => sum + u.get, 0);
    };
    const read = async (from: number, to: number) => {
      const before = await slicesRead();
      const res = await api('/vaults/small/objects/shards.bin', {
        headers: { range: `bytes=${from}-${to}` },
      });
      assert.equal(res.status, 206);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), body.subarray(from, to + 1));
      return (await slicesRead()) - before;
    };
    // A slice slower than the hedge budget (250 ms, which a loaded machine can reach) turns the
    // read into a decode that asks more pillars: the fewest of three reads is the direct path.
    const fewest = async (from: number, to: number) => {
      const counts = [];
      for (let i = 0; i < 3; i++) counts.push(await read(from, to));
      return Math.min(...counts);
    };

    // Act and assess: within one shard, across two, across a segment boundary.
    assert.equal(await fewest(SEGMENT + 100, SEGMENT + 199), 1);
    assert.equal(await fewest(SEGMENT + 16 * 1024 - 10, SEGMENT + 16 * 1024 + 9), 2);
    assert.equal(await fewest(SEGMENT - 1, SEGMENT), 2);
    // The unit of pillar 1 fails its reads: the same range is decoded from k others.
    await fault(1, 'read-fail');
    try {
      assert.ok((await read(SEGMENT + 16 * 1024 + 5, SEGMENT + 16 * 1024 + 50)) >= 4);
    } finally {
      await heal(1);
    }
  });

  test('a PUT commits with n - T units failing their writes, and not with n - T + 1', async () => {
    // Prepare: n - T = 1.
    const body = randomBytes(2 * SEGMENT + 5);
    await fault(5, 'write-fail');
    try {
      // Act
      const one = await put('faults/one-down.bin', body);
      await fault(4, 'write-fail');
      const two = await put('faults/two-down.bin', body);

      // Assess
      assert.equal(one.status, 201, JSON.stringify(await one.clone().json()));
      const failed = (await two.json()) as {
        error: { code: string; failedUnits: number[]; revision: string };
      };
      assert.equal(two.status, 503);
      assert.equal(failed.error.code, 'WriteThresholdNotMet');
      assert.deepEqual(failed.error.failedUnits, [4, 5]);
      assert.equal(
        (await api('/vaults/small/objects/faults/two-down.bin')).status,
        404,
        'never visible',
      );
      const one1 = await api('/vaults/small/objects/faults/one-down.bin');
      assert.deepEqual(Buffer.from(await one1.arrayBuffer()), body);

      // The janitor removes the failed revision's slices, and no committed slice.
      const before = await slicesOf(failed.error.revision);
      assert.ok(before > 0, 'the failed write left slices behind');
      await cloud.invoker.invoke('janitor', {});
      assert.equal(await slicesOf(failed.error.revision), 0);
      const still = await api('/vaults/small/objects/faults/one-down.bin');
      assert.deepEqual(Buffer.from(await still.arrayBuffer()), body);
    } finally {
      await heal(4);
      await heal(5);
    }
  });

  test('with n - k units unreadable, or returning corrupt bytes, a GET is still exact', async () => {
    const body = randomBytes(2 * SEGMENT + 99);
    assert.equal((await put('reads/exact.bin', body)).status, 201);
    await fault(0, 'read-fail');
    await fault(2, 'corrupt');
    try {
      const res = await api('/vaults/small/objects/reads/exact.bin');
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
    } finally {
      await heal(0);
      await heal(2);
    }
  });

  test('listing comes from the index with prefix, limit and cursor; DELETE hides the key', async () => {
    for (const k of ['list/a', 'list/b', 'list/c', 'other/x'])
      assert.equal((await put(k, randomBytes(10))).status, 201);
    const page1 = (await (await api('/vaults/small/objects?prefix=list/&limit=2')).json()) as {
      objects: Array<{ key: string }>;
      cursor: string | null;
    };
    const page2 = (await (
      await api(`/vaults/small/objects?prefix=list/&limit=2&cursor=${page1.cursor}`)
    ).json()) as { objects: Array<{ key: string }>; cursor: string | null };
    assert.deepEqual(
      page1.objects.map((o) => o.key),
      ['list/a', 'list/b'],
    );
    assert.deepEqual(
      page2.objects.map((o) => o.key),
      ['list/c'],
    );
    assert.equal(page2.cursor, null);
    assert.equal((await api('/vaults/small/objects/list/b', { method: 'DELETE' })).status, 204);
    assert.equal((await api('/vaults/small/objects/list/b')).status, 404);
    assert.equal((await api('/vaults/small/objects/list/b', { method: 'HEAD' })).status, 404);
    const after = (await (await api('/vaults/small/objects?prefix=list/')).json()) as {
      objects: Array<{ key: string }>;
    };
    assert.deepEqual(
      after.objects.map((o) => o.key),
      ['list/a', 'list/c'],
    );
  });

  test('a DELETE of a key that holds nothing is a 404 and writes nothing; a real delete leaves a tombstone that expires', async () => {
    // Prepare
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: cloud.endpoints.dynamodb,
        region: cloud.service.region,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    const items = async (prefix: string) =>
      (
        await db.send(
          new QueryCommand({
            TableName: cloud.ref('ObjectsTable'),
            KeyConditionExpression: 'vault = :v AND begins_with(#k, :p)',
            ExpressionAttributeNames: { '#k': 'key' },
            ExpressionAttributeValues: { ':v': 'small', ':p': prefix },
          }),
        )
      ).Items ?? [];
    assert.equal((await put('ghosts/real', randomBytes(10))).status, 201);

    // Act: 250 deletes of keys never written, the real one deleted twice.
    const ghosts = await Promise.all(
      Array.from({ length: 250 }, (_, i) =>
        api(`/vaults/small/objects/ghosts/never-${i}`, { method: 'DELETE' }),
      ),
    );
    const real = await api('/vaults/small/objects/ghosts/real', { method: 'DELETE' });
    const again = await api('/vaults/small/objects/ghosts/real', { method: 'DELETE' });

    // Assess: only the real key has an item, a tombstone due to expire after the pending
    // timeout and a margin.
    assert.deepEqual([...new Set(ghosts.map((r) => r.status))], [404]);
    assert.deepEqual([real.status, again.status], [204, 404]);
    const left = await items('ghosts/');
    assert.deepEqual(
      left.map((i) => [i.key, i.deleted]),
      [['ghosts/real', true]],
    );
    const ttl = Number(left[0]?.ttl) * 1000;
    assert.ok(
      ttl > Date.now() + 59 * 60 * 1000 && ttl < Date.now() + 25 * 60 * 60 * 1000,
      String(ttl),
    );
  });

  test('invalid input gets 400 or 413 with a message naming the rule', async () => {
    const cases: Array<[string, RequestInit, number, RegExp]> = [
      [
        '/vaults/small/objects/a%01b',
        { method: 'PUT', body: 'x' },
        400,
        /^key: must not contain control characters/,
      ],
      ['/vaults/Bad_Vault/objects/k', { method: 'PUT', body: 'x' }, 400, /^vault: must be 3-63/],
      [
        '/vaults/nope-vault/objects/k',
        { method: 'PUT', body: 'x' },
        404,
        /vault "nope-vault" does not exist/,
      ],
      ['/vaults/small/objects?limit=0', {}, 400, /^limit: must be an integer 1..1000/],
      ['/vaults/small/objects?cursor=zzz', {}, 400, /^cursor: /],
      [
        '/vaults/small/objects/r.bin',
        { headers: { range: 'bytes=abc' } },
        400,
        /^Range: must be one range/,
      ],
      [
        '/admin/units/99/fault',
        { method: 'PUT', body: '{"mode":"write-fail"}' },
        400,
        /^unit: the service declares no Unit99Bucket/,
      ],
      [
        '/admin/units/1/fault',
        { method: 'PUT', body: '{"mode":"explode"}' },
        400,
        /^mode: must be one of/,
      ],
    ];
    await put('r.bin', randomBytes(10));
    for (const [path, init, status, rule] of cases) {
      const res = await api(path, init);
      const body = (await res.json()) as { error: { message: string } };
      assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
      assert.match(body.error.message, rule, path);
    }
    const tooBig = await put('big.bin', randomBytes(4 * 1024 * 1024 + 1));
    const big = (await tooBig.json()) as { error: { code: string; message: string } };
    assert.equal(tooBig.status, 413);
    assert.match(big.error.message, /staged upload/);
  });
});

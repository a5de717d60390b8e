/**
 * Client-side reads ("downlink") on the local cloud: the API answers a manifest and presigned
 * GETs of a window of slices, the client reads the slices straight from the units' buckets and
 * rebuilds segments itself, turning to parity slices when a data slice is missing, damaged or
 * its unit errs, and reports the stored damage it met for the rebuilder.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { DsnClient } from '../../bin/client.ts';
import { ApiError, CliError } from '../../bin/errors.ts';
import { getObject } from '../../bin/get.ts';
import {
  type Downlink,
  openDownlink,
  type SliceGet,
  UnitsUnreachableError,
} from '../../client/downlink.ts';
import { createDsnClient, DsnApiError } from '../../client/index.ts';
import { sliceRequest } from '../../client/slice-http.ts';
import { uplinkPut } from '../../client/uplink.ts';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import type { Credentials } from '../../shared/access/signer.ts';
import { parseSliceDamage, type Retrieval } from '../../shared/store/index.ts';
import { runDsn } from '../helpers/dsn-cli.ts';
import { heldUntilExpired } from '../helpers/late-slices.ts';
import {
  type CloudClients,
  cloudClients,
  createVault,
  eventually,
  everySliceStored,
  PROJECT_ROOT,
  startTestCloud,
  TEST_ROOT,
  tempDir,
} from '../helpers/local-cloud.ts';

const MiB = 1024 * 1024;
/** The small vault's segments: objects of a few hundred KiB make many segments and windows. */
const SEGMENT = 64 * 1024;

interface Explanation {
  segments: Array<{
    segment: number;
    good: number;
    pillars: Array<{ unit: number; key: string; bucket: string }>;
  }>;
}

async function drain(d: Downlink): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of d.body) parts.push(part);
  return Buffer.concat(parts);
}

describe('client-side reads (downlink)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let clients: CloudClients;
  let root: DsnClient;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const clientAs = (credentials: Credentials) =>
    new DsnClient(cloud.endpoints.api, undefined, { credentials, region: 'us-east-1' });
  const put = async (vault: string, key: string, body: Uint8Array) => {
    const res = await api(`/vaults/${vault}/objects/${key}`, {
      method: 'PUT',
      body: new Uint8Array(body),
    });
    assert.equal(res.status, 201, await res.clone().text());
  };
  const window = async (body: object) => {
    const res = await api('/vaults/small/retrievals', {
      method: 'POST',
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Retrieval;
  };
  const dsn = (args: string[]) => runDsn(args, { DSN_ENDPOINT: cloud.endpoints.api });
  /** Repair records queued since the last call, for `key`. */
  const repairQueued = async (key: string) => {
    const out = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: cloud.ref('RepairQueue'),
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    return (out.Messages ?? [])
      .map((m) => parseSliceDamage(m.Body ?? ''))
      .filter((d) => d.key === key);
  };

  before(async () => {
    dir = await tempDir('dsn-downlink');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path);
    clients = cloudClients(cloud);
    root = clientAs(TEST_ROOT);
    await createVault(api, { name: 'small', writeThreshold: 5, segmentSize: SEGMENT });
  });

  after(async () => {
    clients?.destroy();
    await cloud?.stop();
    await dir?.remove();
  });

  test('dsn get of a large object reads its slices from the units itself, exact, and --via server agrees', async () => {
    // Prepare: 20 MiB in the default vault's 8 MiB segments: three segments, the last short.
    const body = randomBytes(20 * MiB + 12_345);
    const file = join(dir.path, 'large.bin');
    await writeFile(file, body);
    const stored = await dsn(['put', file, 'default/large/file.bin', '--json']);
    assert.equal(stored.code, 0, stored.stderr);

    // Act
    const auto = await dsn(['get', 'default/large/file.bin', join(dir.path, 'auto.bin'), '--json']);
    const server = await dsn([
      'get',
      'default/large/file.bin',
      join(dir.path, 'server.bin'),
      '--via',
      'server',
      '--json',
    ]);
    const bad = await dsn(['get', 'default/large/file.bin', '--via', 'carrier-pigeon']);

    // Assess: by the downlink, the four data slices of each segment and nothing more.
    assert.equal(auto.code, 0, auto.stderr);
    const got = JSON.parse(auto.stdout) as {
      downlink: boolean;
      size: number;
      slices: { gets: number; windows: number; damaged: number };
    };
    assert.equal(got.downlink, true);
    assert.equal(got.size, body.length);
    assert.deepEqual([got.slices.gets, got.slices.windows, got.slices.damaged], [12, 1, 0]);
    assert.ok((await readFile(join(dir.path, 'auto.bin'))).equals(body));
    assert.equal(server.code, 0, server.stderr);
    assert.equal((JSON.parse(server.stdout) as { downlink: boolean }).downlink, false);
    assert.ok((await readFile(join(dir.path, 'server.bin'))).equals(body));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--via must be auto, downlink or server, got "carrier-pigeon"/);
  });

  test('windows of URLs are asked as the read goes, and a small object reads the same', async () => {
    // Prepare: 21 segments, read in windows of 4; and an object smaller than one segment.
    const body = randomBytes(20 * SEGMENT + 999);
    const tiny = randomBytes(100);
    await put('small', 'windows/many.bin', body);
    await put('small', 'windows/tiny.bin', tiny);

    // Act
    const many = await openDownlink(root, 'small', 'windows/many.bin', { window: 4 });
    const back = await drain(many);
    const small = await openDownlink(root, 'small', 'windows/tiny.bin');
    const tinyBack = await drain(small);

    // Assess
    assert.ok(back.equals(body));
    assert.equal(many.stats.windows, 6);
    assert.equal(many.stats.gets, 21 * 4);
    assert.ok(tinyBack.equals(tiny));
    // 100 bytes are cut into four data shards of 25: four slice GETs, no parity.
    assert.equal(small.stats.gets, 4);
  });

  test('a window of URLs asked ahead that meets a network error or a busy gateway is asked again, and the read ends exact', async () => {
    // Prepare: 21 segments in windows of 4; the API path fails every window's first ask after
    // the opening one, alternately as a network error and a gateway 503 (no code).
    const body = randomBytes(20 * SEGMENT + 999);
    await put('small', 'windows/blips.bin', body);
    const asked = new Map<number, number>();
    const flaky = {
      postJson: async <T>(path: string, req: unknown) => {
        const first = (req as { first?: number }).first ?? 0;
        const tries = (asked.get(first) ?? 0) + 1;
        asked.set(first, tries);
        if (first > 0 && tries === 1)
          throw first % 8 === 0
            ? Object.assign(new Error('socket hang up'), { name: 'DsnUnreachableError' })
            : new DsnApiError(503, '', 'Service Unavailable');
        return root.postJson<T>(path, req);
      },
    };

    // Act
    const read = await openDownlink(flaky, 'small', 'windows/blips.bin', { window: 4 });
    const back = await drain(read);

    // Assess
    assert.ok(back.equals(body));
    assert.deepEqual(
      [...asked.entries()].sort((a, b) => a[0] - b[0]),
      [
        [0, 1],
        [4, 2],
        [8, 2],
        [12, 2],
        [16, 2],
        [20, 2],
      ],
    );
  });

  test('a missing and a damaged data slice: the read turns to parity, stays exact, and reports both for repair', async () => {
    // Prepare: segment 1 loses pillar 0; segment 3's pillar 2 gets other bytes.
    const body = randomBytes(5 * SEGMENT);
    await put('small', 'hurt/object.bin', body);
    const explained = await everySliceStored<Explanation>(api, 'small', 'hurt/object.bin');
    const gone = explained.segments[1]?.pillars[0];
    const rotten = explained.segments[3]?.pillars[2];
    assert.ok(gone && rotten);
    await clients.s3.send(new DeleteObjectCommand({ Bucket: gone.bucket, Key: gone.key }));
    const slice = await clients.s3.send(
      new GetObjectCommand({ Bucket: rotten.bucket, Key: rotten.key }),
    );
    const flipped = Buffer.from((await slice.Body?.transformToByteArray()) ?? []);
    const middle = flipped.length >> 1;
    flipped[middle] = (flipped[middle] ?? 0) ^ 0xff;
    await clients.s3.send(
      new PutObjectCommand({ Bucket: rotten.bucket, Key: rotten.key, Body: flipped }),
    );
    await repairQueued('hurt/object.bin');

    // Act
    const read = await openDownlink(root, 'small', 'hurt/object.bin');
    const back = await drain(read);

    // Assess
    assert.ok(back.equals(body));
    assert.deepEqual([read.stats.damaged, read.stats.reported], [2, 2]);
    // Each damaged segment needed two more slices (a parity one in place of the bad one, and
    // the data slice the direct read had not asked for).
    assert.ok(read.stats.gets >= 5 * 4 + 2, `${read.stats.gets} slice GETs`);
    const queued = await eventually(async () => {
      const found = await repairQueued('hurt/object.bin');
      return found.length > 0 ? found : undefined;
    }, 'the damage in the repair queue');
    const found = [...queued, ...(await repairQueued('hurt/object.bin'))];
    assert.deepEqual(
      found.map((d) => [d.segment, d.pillar, d.unit, d.defect]).sort(),
      [
        [1, 0, gone.unit, 'missing'],
        [3, 2, rotten.unit, 'corrupt'],
      ].sort(),
    );
  });

  test("a unit that errs to the client costs a parity slice, and is not reported as the unit's damage", async () => {
    const body = randomBytes(3 * SEGMENT);
    await put('small', 'erring/object.bin', body);
    await everySliceStored<Explanation>(api, 'small', 'erring/object.bin');
    const fault = await api('/admin/units/0/fault', {
      method: 'PUT',
      body: JSON.stringify({ mode: 'read-fail' }),
    });
    assert.equal(fault.status, 200);
    try {
      const read = await openDownlink(root, 'small', 'erring/object.bin');
      assert.ok((await drain(read)).equals(body));
      assert.deepEqual([read.stats.damaged, read.stats.reported], [3, 0]);
    } finally {
      await api('/admin/units/0/fault', { method: 'DELETE' });
    }
  });

  test('an aborted read cuts off its slice GETs, asks no more windows, and reports nothing', async () => {
    // Prepare: 40 segments in windows of 4; the sixth slice GET aborts the read.
    const body = randomBytes(40 * SEGMENT);
    await put('small', 'aborted/object.bin', body);
    const control = new AbortController();
    let gets = 0;
    const cutOff: boolean[] = [];
    const read = await openDownlink(root, 'small', 'aborted/object.bin', {
      window: 4,
      signal: control.signal,
      getSlice: (url, signal) => {
        if (++gets === 6) control.abort();
        cutOff.push(signal.aborted);
        return sliceRequest(url, { method: 'GET', signal });
      },
    });

    // Act
    const got: number[] = [];
    const drained = (async () => {
      for await (const part of read.body) got.push(part.length);
    })();

    // Assess
    await assert.rejects(drained, { name: 'AbortError' });
    assert.ok(cutOff.at(-1), 'the GETs after the abort are handed an aborted signal');
    assert.ok(read.stats.windows <= 2, `windows asked: ${read.stats.windows}`);
    assert.ok(gets < 40 * 4, `slice GETs: ${gets}`);
    assert.ok(got.reduce((a, b) => a + b, 0) < body.length);
    assert.deepEqual([read.stats.damaged, read.stats.reported], [0, 0]);
    assert.deepEqual(await repairQueued('aborted/object.bin'), []);
  });

  test('URLs are scoped to their slice and expire; a client whose URLs expired asks for its window again, once, and finishes', async () => {
    // Prepare
    const body = randomBytes(2 * SEGMENT);
    await put('small', 'scoped/object.bin', body);
    // URLs of a minute, and of one second: X-Amz-Date counts whole seconds, so a one-second URL
    // may have anything from a second down to a few ms left when it is given.
    const opened = await window({ key: 'scoped/object.bin', expiresInSeconds: 60 });
    const brief = await window({ key: 'scoped/object.bin', expiresInSeconds: 1 });
    const [first, second] = opened.slices;
    const short = brief.slices[0];
    assert.ok(first && second && short);

    // Act: a URL as given, the same URL pointed at another slice key, and one that expired.
    const fresh = await fetch(first.url);
    const otherKey = new URL(first.url);
    otherKey.pathname = new URL(second.url).pathname;
    const forged = await fetch(otherKey);
    const expired = await eventually(async () => {
      const res = await fetch(short.url);
      return res.status === 200 ? undefined : res;
    }, 'the URL to expire');
    // A client whose slice GETs all wait until their URLs have expired.
    const late = heldUntilExpired();
    const read = await openDownlink(root, 'small', 'scoped/object.bin', {
      // Three seconds: the URLs asked again have two at least, for the eight GETs after.
      urlSeconds: 3,
      getSlice: late,
    });
    const back = await drain(read);

    // Assess
    assert.equal(fresh.status, 200);
    assert.equal(forged.status, 403);
    assert.match(await forged.text(), /SignatureDoesNotMatch/);
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /Request has expired/);
    assert.ok(back.equals(body));
    // Eight data slices met their URLs expired; one window asked again served them all.
    assert.deepEqual(
      [read.stats.refreshed, read.stats.windows, read.stats.gets, read.stats.damaged],
      [8, 2, 16, 0],
    );
  });

  test('a key that moves to another revision mid-read ends the read with 412, never a mix of the two', async () => {
    // Prepare: 12 segments in windows of 4: the third window is asked after the overwrite.
    const body = randomBytes(12 * SEGMENT);
    await put('small', 'moving/object.bin', body);
    const read = await openDownlink(root, 'small', 'moving/object.bin', { window: 4 });
    const it = read.body[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);

    // Act
    await put('small', 'moving/object.bin', randomBytes(12 * SEGMENT));
    const rest = (async () => {
      for (;;) if ((await it.next()).done) return;
    })();

    // Assess
    await assert.rejects(
      rest,
      (err: Error) =>
        err instanceof ApiError && err.status === 412 && /read it again/.test(err.message),
    );
  });

  test('the read grant and the scan gate decide as for a GET, before any URL is given', async () => {
    // Prepare: a key that reads pub/ of the small vault only, and an infected object there.
    const res = await api('/admin/keys', {
      method: 'POST',
      body: JSON.stringify({ policy: [{ vaults: ['small'], prefix: 'pub/', actions: ['read'] }] }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const reader = clientAs((await res.json()) as Credentials);
    const eicar = Buffer.from(
      '58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a',
      'hex',
    );
    await put('small', 'pub/ok.bin', randomBytes(1000));
    await put('small', 'pub/eicar.com', eicar);
    await put('small', 'private/x.bin', randomBytes(1000));
    await eventually(async () => {
      const list = await api('/vaults/small/objects?prefix=pub/eicar.com');
      const { objects } = (await list.json()) as { objects: Array<{ scanState: string }> };
      return objects[0]?.scanState === 'infected' ? true : undefined;
    }, 'the EICAR object to be found infected');

    // Act
    const refused = (key: string) =>
      openDownlink(reader, 'small', key).then(
        () => 'read',
        (err: ApiError) => `${err.status} ${err.code}`,
      );
    const outcomes = {
      allowed: await refused('pub/ok.bin'),
      otherPrefix: await refused('private/x.bin'),
      infected: await refused('pub/eicar.com'),
      damage: await reader
        .json('POST', '/vaults/small/retrievals/damage', {
          body: {
            key: 'private/x.bin',
            revision: '00mx9unizm2ad37d40ea2d392b',
            damage: [{ segment: 0, pillar: 0, defect: 'missing', detail: '' }],
          },
        })
        .then(
          () => 'queued',
          (err: ApiError) => `${err.status} ${err.code}`,
        ),
    };
    const admin = await drain(await openDownlink(root, 'small', 'pub/eicar.com'));

    // Assess
    assert.deepEqual(outcomes, {
      allowed: 'read',
      otherPrefix: '403 AccessDenied',
      infected: '403 Quarantined',
      damage: '403 AccessDenied',
    });
    assert.ok(admin.equals(eicar));
  });

  test("the SDK's client takes both client-side paths: it disperses and reads back exact", async () => {
    // Prepare: the SDK's own client (@dsn/client), not the CLI's.
    const sdk = createDsnClient({ endpoint: cloud.endpoints.api, credentials: TEST_ROOT });
    const body = randomBytes(3 * MiB + 77);
    async function* source() {
      for (let at = 0; at < body.length; at += 100_000) yield body.subarray(at, at + 100_000);
    }

    // Act
    const put = await uplinkPut(sdk, source(), 'small', 'sdk/object.bin');
    const read = await openDownlink(sdk, 'small', 'sdk/object.bin');
    const back = await drain(read);
    const missing = await openDownlink(sdk, 'small', 'sdk/nope.bin').then(
      () => undefined,
      (err: unknown) => err,
    );

    // Assess
    assert.equal(put.state, 'committed');
    assert.equal(read.manifest.revision, put.revision);
    assert.equal(read.manifest.sha256, put.sha256);
    assert.ok(back.equals(body));
    assert.ok(missing instanceof DsnApiError);
    assert.deepEqual([missing.status, missing.code], [404, 'ObjectNotFound']);
  });

  test("buckets out of the client's reach: the downlink says so, and dsn get falls back to the API's ranges", async () => {
    // Prepare: a client whose slice GETs reach nothing, as behind a network that reaches the
    // API only.
    const body = randomBytes(9 * MiB);
    await put('small', 'far/object.bin', body.subarray(0, 4 * MiB));
    const file = join(dir.path, 'far.bin');
    await writeFile(file, body);
    assert.equal((await dsn(['put', file, 'default/far/object.bin'])).code, 0);
    const refused: SliceGet = () =>
      Promise.reject(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
      );
    const quiet = () => ({ update() {}, setTotal() {}, stop() {} });

    // Act
    const direct = await openDownlink(root, 'small', 'far/object.bin', { getSlice: refused })
      .then(drain)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    const auto = await getObject(
      root,
      'default',
      'far/object.bin',
      join(dir.path, 'far-auto.bin'),
      quiet,
      'auto',
      {
        getSlice: refused,
      },
    );
    const forced = await getObject(
      root,
      'default',
      'far/object.bin',
      join(dir.path, 'far-forced.bin'),
      quiet,
      'downlink',
      {
        getSlice: refused,
      },
    ).then(
      () => undefined,
      (err: unknown) => err,
    );

    // Assess
    assert.ok(direct instanceof UnitsUnreachableError, String(direct));
    assert.match(direct.message, /no unit's bucket answered this client \(ECONNREFUSED\)/);
    assert.equal(auto.downlink, false);
    assert.ok((await readFile(join(dir.path, 'far-auto.bin'))).equals(body));
    assert.ok(forced instanceof CliError, String(forced));
    assert.match(forced.hint ?? '', /--via server/);
  });

  test('bad requests name the field and the rule', async () => {
    const refused = async (path: string, body: unknown) => {
      const res = await api(path, { method: 'POST', body: JSON.stringify(body) });
      return [res.status, ((await res.json()) as { error: { message: string } }).error.message];
    };
    await put('small', 'bad/object.bin', randomBytes(3 * SEGMENT));
    assert.deepEqual(
      await refused('/vaults/small/retrievals', { key: 'bad/object.bin', count: 33 }),
      [400, 'count: must be between 1 and 32, got 33'],
    );
    const [status, message] = await refused('/vaults/small/retrievals', {
      key: 'bad/object.bin',
      first: 3,
    });
    assert.equal(status, 400);
    assert.match(String(message), /^first: must be below the object's 3 segments, got 3$/);
    assert.deepEqual((await refused('/vaults/small/retrievals', { key: 'nope' }))[0], 404);
    assert.deepEqual((await refused('/vaults/nope/retrievals', { key: 'x' }))[0], 404);
    const damaged = await refused('/vaults/small/retrievals/damage', {
      key: 'bad/object.bin',
      revision: (await window({ key: 'bad/object.bin' })).revision,
      damage: [{ segment: 0, pillar: 6, defect: 'missing', detail: '' }],
    });
    assert.equal(damaged[0], 400);
    assert.match(String(damaged[1]), /^damage\[0\]\.pillar: must be below the vault's width 6/);
  });
});

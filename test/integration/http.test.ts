/**
 * Plain HTTP on the local cloud, as any client sees it: HEAD's length, conditional requests,
 * content type, disposition and user metadata kept with the object, and S3-style listings.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { formatSliceName, sliceNamesOf } from '../../shared/codec/index.ts';
import { objectIdOf } from '../../shared/store/revision.ts';
import {
  cloudClients,
  createVault,
  eventually,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';
import { TEST_REGION, TEST_ROOT, unsignedFetch } from '../helpers/signing.ts';

const SEGMENT = 64 * 1024;

/** Runs curl (on the machine) with `args`; resolves with its exit code and stderr. */
function curl(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

/**
 * curl signing as README's `curl()` shell function does (`--aws-sigv4`, as the root). With `-L`
 * curl sends that Authorization to the API only, not to the reader's other origin, whose grant
 * is the authorization; the reader ignores an Authorization header either way.
 */
function signedCurl(args: string[]): Promise<{ code: number; stderr: string }> {
  return curl([
    '--aws-sigv4',
    `aws:amz:${TEST_REGION}:dsn`,
    '-H',
    'x-amz-content-sha256: UNSIGNED-PAYLOAD',
    '--user',
    `${TEST_ROOT.accessKeyId}:${TEST_ROOT.secretAccessKey}`,
    ...args,
  ]);
}

describe('plain HTTP on objects', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const put = (key: string, body: Uint8Array, headers: Record<string, string> = {}) =>
    api(`/vaults/web/objects/${key}`, { method: 'PUT', headers, body: new Uint8Array(body) });
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  before(async () => {
    dir = await tempDir('dsn-http');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    await createVault(api, { name: 'web', writeThreshold: 5, segmentSize: SEGMENT });
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('content-type, content-disposition and x-dsn-meta-* given on PUT come back on GET and HEAD', async () => {
    // Prepare
    const body = randomBytes(1000);
    const headers = {
      'content-type': 'image/png',
      'content-disposition': 'attachment; filename="cat.png"',
      'x-dsn-meta-owner': 'alice',
      'x-dsn-meta-camera-model': 'X100',
    };

    // Act
    const res = await put('attrs/cat.png', body, headers);
    const got = await api('/vaults/web/objects/attrs/cat.png');
    const head = await api('/vaults/web/objects/attrs/cat.png', { method: 'HEAD' });

    // Assess
    assert.equal(res.status, 201, await res.text());
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), body);
    for (const r of [got, head]) {
      for (const [name, value] of Object.entries(headers)) assert.equal(r.headers.get(name), value);
      assert.equal(r.headers.get('etag'), `"${sha(body)}"`);
    }
  });

  test('HEAD answers content-length = the size, with the headers GET has', async () => {
    // Prepare
    const body = randomBytes(3 * SEGMENT + 5);
    assert.equal((await put('head/three.bin', body)).status, 201);

    // Act
    const head = await api('/vaults/web/objects/head/three.bin', { method: 'HEAD' });
    const got = await api('/vaults/web/objects/head/three.bin');
    await got.arrayBuffer();

    // Assess
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(body.length));
    for (const name of ['etag', 'content-type', 'last-modified', 'accept-ranges', 'x-dsn-size'])
      assert.equal(head.headers.get(name), got.headers.get(name), name);
  });

  test('user metadata above 2 KB is refused with a 400 naming the rule', async () => {
    // Act
    const res = await put('attrs/big-meta', randomBytes(10), {
      'x-dsn-meta-a': 'x'.repeat(1500),
      'x-dsn-meta-b': 'y'.repeat(600),
    });

    // Assess
    assert.equal(res.status, 400);
    const { error } = (await res.json()) as { error: { message: string } };
    assert.match(error.message, /x-dsn-meta-\*: user metadata must be at most 2048 bytes/);
  });

  test('GET with If-None-Match: "<etag>" answers 304, and 200 once the object changed', async () => {
    // Prepare
    const first = randomBytes(500);
    assert.equal((await put('cond/cached', first)).status, 201);

    // Act
    const same = await api('/vaults/web/objects/cond/cached', {
      headers: { 'if-none-match': `"${sha(first)}"` },
    });
    assert.equal((await put('cond/cached', randomBytes(501))).status, 201);
    const changed = await api('/vaults/web/objects/cond/cached', {
      headers: { 'if-none-match': `"${sha(first)}"` },
    });

    // Assess
    assert.equal(same.status, 304);
    assert.equal(same.headers.get('etag'), `"${sha(first)}"`);
    assert.equal(changed.status, 200);
    assert.equal((await changed.arrayBuffer()).byteLength, 501);
  });

  test('GET and HEAD take If-Match, If-Unmodified-Since, If-Modified-Since and If-Range as S3 does: a ranged read never mixes two versions', async () => {
    // Prepare: a version read once (its ETag and Last-Modified kept), then overwritten.
    const v1 = randomBytes(1000);
    assert.equal((await put('cond/ranged', v1)).status, 201);
    const first = await api('/vaults/web/objects/cond/ranged', { method: 'HEAD' });
    const etag = first.headers.get('etag') as string;
    const lastModified = first.headers.get('last-modified') as string;
    const v2 = randomBytes(1000);
    assert.equal((await put('cond/ranged', v2)).status, 201);
    const later = new Date(Date.now() + 60_000).toUTCString();
    const longAgo = new Date(0).toUTCString();
    const get = (headers: Record<string, string>, method = 'GET') =>
      api('/vaults/web/objects/cond/ranged', { method, headers });

    // Act
    const stale = await get({ 'if-match': etag, range: 'bytes=500-' });
    const staleHead = await get({ 'if-match': etag }, 'HEAD');
    const changedSince = await get({ 'if-unmodified-since': longAgo });
    const notSince = await get({ 'if-modified-since': later });
    const notSinceHead = await get({ 'if-modified-since': later }, 'HEAD');
    const noneMatchWins = await get({ 'if-none-match': etag, 'if-modified-since': later });
    const rangeStale = await get({ 'if-range': etag, range: 'bytes=500-' });
    const rangeDate = await get({ 'if-range': lastModified, range: 'bytes=500-' });
    const current = (await get({}, 'HEAD')).headers.get('etag') as string;
    const rangeCurrent = await get({ 'if-range': current, range: 'bytes=500-' });
    const matchCurrent = await get({ 'if-match': current, 'if-unmodified-since': longAgo });

    // Assess
    assert.equal(stale.status, 412);
    assert.match(await stale.text(), /If-Match failed/);
    assert.equal(staleHead.status, 412);
    assert.equal(changedSince.status, 412);
    assert.equal(notSince.status, 304);
    assert.equal(
      notSince.headers.get('content-type'),
      null,
      'a 304 carries no representation headers',
    );
    assert.equal(notSinceHead.status, 304);
    assert.equal(noneMatchWins.status, 200, 'If-None-Match decides; If-Modified-Since is ignored');
    assert.equal(rangeStale.status, 200, 'If-Range of the old version: the whole new one');
    assert.ok(Buffer.from(await rangeStale.arrayBuffer()).equals(v2));
    assert.equal(
      rangeDate.status,
      lastModified === (await get({}, 'HEAD')).headers.get('last-modified') ? 206 : 200,
    );
    assert.equal(rangeCurrent.status, 206);
    assert.ok(Buffer.from(await rangeCurrent.arrayBuffer()).equals(v2.subarray(500)));
    assert.equal(matchCurrent.status, 200, 'If-Match holds: If-Unmodified-Since is not asked');
  });

  test('PUT with If-Match: "<etag>" commits while the object is unchanged, and is 412 once it changed', async () => {
    // Prepare
    const v1 = randomBytes(100);
    assert.equal((await put('cond/doc', v1)).status, 201);
    const v2 = randomBytes(101);

    // Act
    const ok = await put('cond/doc', v2, { 'if-match': `"${sha(v1)}"` });
    const stale = await put('cond/doc', randomBytes(102), { 'if-match': `"${sha(v1)}"` });

    // Assess
    assert.equal(ok.status, 201, await ok.text());
    assert.equal(stale.status, 412);
    const { error } = (await stale.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'PreconditionFailed');
    const got = await api('/vaults/web/objects/cond/doc');
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), v2);
  });

  test('PUT with If-None-Match: * is 412 when the key exists', async () => {
    // Prepare
    const body = randomBytes(64);

    // Act
    const created = await put('cond/once', body, { 'if-none-match': '*' });
    const again = await put('cond/once', randomBytes(64), { 'if-none-match': '*' });

    // Assess
    assert.equal(created.status, 201, await created.text());
    assert.equal(again.status, 412);
    const got = await api('/vaults/web/objects/cond/once');
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), body);
  });

  test('of concurrent If-None-Match: * creates of one key, exactly one commits: the check is the commit', async () => {
    // Act: all pass the early check together; only the index's conditional write decides.
    const bodies = [1, 2, 3, 4].map(() => randomBytes(2 * SEGMENT));
    const results = await Promise.all(
      bodies.map((b) => put('cond/race', b, { 'if-none-match': '*' })),
    );

    // Assess
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 412, 412, 412]);
    const winner = bodies[results.findIndex((r) => r.status === 201)] as Buffer;
    const got = await api('/vaults/web/objects/cond/race');
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), winner);
  });

  test('a malformed If-Match or If-None-Match on PUT is a 400 naming the header', async () => {
    // Act
    const badMatch = await put('cond/bad', randomBytes(1), { 'if-match': 'nope' });
    const badNone = await put('cond/bad', randomBytes(1), { 'if-none-match': '"abc"' });

    // Assess
    assert.equal(badMatch.status, 400);
    assert.match(
      ((await badMatch.json()) as { error: { message: string } }).error.message,
      /^if-match: /,
    );
    assert.equal(badNone.status, 400);
    assert.match(
      ((await badNone.json()) as { error: { message: string } }).error.message,
      /^if-none-match: /,
    );
  });

  test('a listing with delimiter=/ rolls keys below the next "/" into commonPrefixes, page by page', async () => {
    // Prepare
    for (const key of ['a/1', 'a/2', 'a/b/3', 'a/b/4', 'b', 'c/d/5', 'e'])
      assert.equal((await put(`tree/${key}`, randomBytes(8))).status, 201);
    type Page = {
      objects: Array<{ key: string; lastModified: string }>;
      commonPrefixes: string[];
      cursor: string | null;
    };
    const list = async (query: string) => {
      const res = await api(`/vaults/web/objects?${query}`);
      assert.equal(res.status, 200);
      return (await res.json()) as Page;
    };

    // Act
    const top = await list('prefix=tree/&delimiter=/');
    const inA = await list('prefix=tree/a/&delimiter=/');
    const pages: Page[] = [];
    let cursor = '';
    do {
      const page = await list(`prefix=tree/&delimiter=/&limit=1&cursor=${cursor}`);
      pages.push(page);
      cursor = page.cursor ?? '';
    } while (cursor);

    // Assess
    assert.deepEqual(
      top.objects.map((o) => o.key),
      ['tree/b', 'tree/e'],
    );
    assert.deepEqual(top.commonPrefixes, ['tree/a/', 'tree/c/']);
    assert.equal(top.cursor, null);
    assert.deepEqual(
      inA.objects.map((o) => o.key),
      ['tree/a/1', 'tree/a/2'],
    );
    assert.deepEqual(inA.commonPrefixes, ['tree/a/b/']);
    assert.deepEqual(
      pages.flatMap((p) => [...p.commonPrefixes, ...p.objects.map((o) => o.key)]),
      ['tree/a/', 'tree/b', 'tree/c/', 'tree/e'],
    );
    for (const o of top.objects) assert.ok(Date.parse(o.lastModified) > 0, o.lastModified);
  });

  test('a listing refuses an unknown query parameter, and a delimiter other than "/", naming it', async () => {
    // Act
    const unknown = await api('/vaults/web/objects?prefix=tree/&max-keys=2');
    const delimiter = await api('/vaults/web/objects?delimiter=%7C');

    // Assess
    assert.equal(unknown.status, 400);
    assert.match(
      ((await unknown.json()) as { error: { message: string } }).error.message,
      /^max-keys: is not a listing parameter/,
    );
    assert.equal(delimiter.status, 400);
    assert.match(
      ((await delimiter.json()) as { error: { message: string } }).error.message,
      /^delimiter: must be "\/"/,
    );
  });
});

describe('GET of any size', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const MiB = 1024 * 1024;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);

  /** Puts `body` through a staged upload (parts through the API) and waits for its commit. */
  async function stagedPut(key: string, body: Buffer): Promise<void> {
    const created = await api('/vaults/default/uploads', {
      method: 'POST',
      body: JSON.stringify({ key }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { uploadId } = (await created.json()) as { uploadId: string };
    for (let at = 0, part = 1; at < body.length; at += 4 * MiB, part++) {
      const res = await api(`/vaults/default/uploads/${uploadId}/parts/${part}`, {
        method: 'PUT',
        body: new Uint8Array(body.subarray(at, at + 4 * MiB)),
      });
      assert.equal(res.status, 200);
    }
    assert.equal(
      (await api(`/vaults/default/uploads/${uploadId}/complete`, { method: 'POST' })).status,
      202,
    );
    const done = await eventually(
      async () => {
        const u = (await (await api(`/vaults/default/uploads/${uploadId}`)).json()) as {
          state: string;
        };
        return u.state === 'dispersing' ? undefined : u;
      },
      'the dispersal to finish',
      240_000,
    );
    assert.equal(done.state, 'committed', JSON.stringify(done));
  }

  before(async () => {
    dir = await tempDir('dsn-http-stream');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('curl -L downloads a 50 MiB object byte-exact, and a Range above the limit too, through the 307 to the reader', async () => {
    // Prepare
    const body = randomBytes(50 * MiB + 123);
    await stagedPut('movies/big.bin', body);
    const url = `${cloud.endpoints.api}/vaults/default/objects/movies/big.bin`;

    // Act
    const redirect = await api('/vaults/default/objects/movies/big.bin', { redirect: 'manual' });
    const whole = await signedCurl(['-sS', '-f', '-L', '-o', join(dir.path, 'whole'), url]);
    const ranged = await signedCurl([
      '-sS',
      '-f',
      '-L',
      '-r',
      `${MiB + 7}-${12 * MiB}`,
      '-o',
      join(dir.path, 'range'),
      url,
    ]);

    // Assess
    assert.equal(redirect.status, 307);
    const location = new URL(redirect.headers.get('location') ?? '');
    assert.equal(location.hostname, '127.0.0.1');
    assert.equal(location.pathname, '/vaults/default/objects/movies/big.bin');
    assert.equal(whole.code, 0, whole.stderr);
    const got = await readFile(join(dir.path, 'whole'));
    assert.equal(got.length, body.length);
    assert.ok(got.equals(body), 'byte-exact');
    assert.equal(ranged.code, 0, ranged.stderr);
    assert.ok(
      (await readFile(join(dir.path, 'range'))).equals(body.subarray(MiB + 7, 12 * MiB + 1)),
    );
  });

  test('the reader answers 503 when the read cannot begin (its first segment short of k good slices), never a 200 with no body', async () => {
    // Prepare: an object above the API's limit whose first segment lost n - k + 1 slices.
    const body = randomBytes(5 * MiB);
    await stagedPut('movies/lost-start.bin', body);
    const vault = (await (await api('/vaults/default')).json()) as {
      units: number[];
      readThreshold: number;
    };
    const revision = (
      await api('/vaults/default/objects/movies/lost-start.bin', { method: 'HEAD' })
    ).headers.get('x-dsn-revision') as string;
    const name = sliceNamesOf({
      vault: 'default',
      objectId: objectIdOf('default', 'movies/lost-start.bin'),
      revision,
    });
    const clients = cloudClients(cloud);
    try {
      for (let pillar = 0; pillar <= vault.units.length - vault.readThreshold; pillar++)
        await clients.s3.send(
          new DeleteObjectCommand({
            Bucket: cloud.ref(`Unit${vault.units[pillar]}Bucket`),
            Key: formatSliceName(name(0, pillar)),
          }),
        );
    } finally {
      clients.destroy();
    }

    // Act
    const redirect = await api('/vaults/default/objects/movies/lost-start.bin', {
      redirect: 'manual',
    });
    const read = await fetch(new URL(redirect.headers.get('location') ?? ''));

    // Assess
    assert.equal(redirect.status, 307);
    assert.equal(read.status, 503, await read.clone().text());
    assert.match(await read.text(), /SegmentLost|segment 0/);
  });

  test('the reader refuses a URL whose grant is altered, or for another object, with 403', async () => {
    // Prepare
    const body = randomBytes(5 * MiB);
    await stagedPut('movies/small.bin', body);
    const redirect = await api('/vaults/default/objects/movies/small.bin', { redirect: 'manual' });
    const location = new URL(redirect.headers.get('location') ?? '');
    const token = location.searchParams.get('grant') ?? '';

    // Act
    const altered = new URL(location);
    altered.searchParams.set('grant', `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`);
    const moved = new URL(location);
    moved.pathname = '/vaults/default/objects/movies/big.bin';
    const none = new URL(location);
    none.search = '';
    // The test's fetch signs loopback requests: `ok` carries an Authorization header too.
    const [a, m, n, ok, bare] = await Promise.all([
      fetch(altered),
      fetch(moved),
      fetch(none),
      fetch(location),
      unsignedFetch(location),
    ]);

    // Assess
    for (const r of [a, m, n]) assert.equal(r.status, 403);
    for (const r of [ok, bare]) {
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-length'), String(body.length));
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(body));
    }
  });

  test("the reader's URL answers a page's preflight itself and lets it read the bytes and headers (its cors)", async () => {
    // Prepare: a page on the API's origin followed the 307, as the web console's download does.
    const body = randomBytes(5 * MiB);
    await stagedPut('movies/page.bin', body);
    const redirect = await api('/vaults/default/objects/movies/page.bin', { redirect: 'manual' });
    const location = new URL(redirect.headers.get('location') ?? '');
    const origin = cloud.endpoints.api;

    // Act
    const preflight = await unsignedFetch(location, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-amz-date,x-amz-content-sha256,range',
      },
    });
    const read = await unsignedFetch(location, { headers: { origin, range: 'bytes=0-99' } });
    const plain = await unsignedFetch(location);

    // Assess
    assert.equal(preflight.status, 200);
    assert.equal(await preflight.text(), '', 'answered without running the reader');
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET, HEAD');
    assert.equal(
      preflight.headers.get('access-control-allow-headers'),
      'x-amz-date, x-amz-content-sha256, range',
    );
    assert.equal(preflight.headers.get('access-control-max-age'), '3600');
    assert.equal(read.status, 206);
    assert.equal(read.headers.get('access-control-allow-origin'), '*');
    assert.match(
      read.headers.get('access-control-expose-headers') ?? '',
      /Content-Range.*X-Dsn-Sha256/,
    );
    assert.ok(Buffer.from(await read.arrayBuffer()).equals(body.subarray(0, 100)));
    assert.equal(
      plain.headers.get('access-control-allow-origin'),
      null,
      'no origin, no CORS headers',
    );
    await plain.arrayBuffer();
  });
});

describe('presigned multipart uploads', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const MiB = 1024 * 1024;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  type Created = {
    uploadId: string;
    presigned: { partSize: number; parts: number; urlsExpireAt: string };
    urls: Array<{ part: number; url: string }>;
  };
  const create = async (body: object) => {
    const res = await api('/vaults/default/uploads', {
      method: 'POST',
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as Created & { error?: { message: string } },
    };
  };
  const waitDone = (uploadId: string) =>
    eventually(
      async () => {
        const u = (await (await api(`/vaults/default/uploads/${uploadId}`)).json()) as {
          state: string;
          sha256?: string;
        };
        return u.state === 'dispersing' ? undefined : u;
      },
      'the dispersal to finish',
      240_000,
    );

  before(async () => {
    dir = await tempDir('dsn-http-presigned');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('a 50 MiB upload PUT part by part with curl to presigned URLs commits and reads back exact', async () => {
    // Prepare
    const body = randomBytes(50 * MiB + 321);
    const { status, body: created } = await create({
      key: 'presigned/50mib.bin',
      presigned: true,
      size: body.length,
      contentType: 'video/mp4',
      contentDisposition: 'attachment; filename="clip.mp4"',
      meta: { camera: 'x100' },
    });
    assert.equal(status, 201, JSON.stringify(created));
    assert.equal(created.presigned.partSize, 8 * MiB);
    assert.equal(created.urls.length, 7);

    // Act: each part straight to S3 (the staging bucket), in reverse order.
    for (const { part, url } of [...created.urls].reverse()) {
      const file = join(dir.path, `part-${part}`);
      const start = (part - 1) * created.presigned.partSize;
      await writeFile(file, body.subarray(start, start + created.presigned.partSize));
      // -T: a PUT of the file as it is (curl's --data-binary would label it a form, which fauxqs
      // cannot parse; S3 takes either).
      const put = await curl(['-sS', '-f', '-T', file, url]);
      assert.equal(put.code, 0, put.stderr);
    }
    const proxied = await api(`/vaults/default/uploads/${created.uploadId}/parts/1`, {
      method: 'PUT',
      body: 'x',
    });
    const complete = await api(`/vaults/default/uploads/${created.uploadId}/complete`, {
      method: 'POST',
    });
    const done = await waitDone(created.uploadId);
    const got = await signedCurl([
      '-sS',
      '-f',
      '-L',
      '-o',
      join(dir.path, 'back'),
      `${cloud.endpoints.api}/vaults/default/objects/presigned/50mib.bin`,
    ]);

    // Assess
    assert.equal(proxied.status, 409, 'a presigned upload takes no proxied parts');
    assert.equal(complete.status, 202);
    assert.equal(done.state, 'committed', JSON.stringify(done));
    assert.equal(done.sha256, createHash('sha256').update(body).digest('hex'));
    assert.equal(got.code, 0, got.stderr);
    assert.ok((await readFile(join(dir.path, 'back'))).equals(body), 'byte-exact');
    const head = await api('/vaults/default/objects/presigned/50mib.bin', { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(body.length));
    assert.equal(head.headers.get('content-type'), 'video/mp4');
    assert.equal(head.headers.get('content-disposition'), 'attachment; filename="clip.mp4"');
    assert.equal(head.headers.get('x-dsn-meta-camera'), 'x100');
  });

  test('a presigned upload with a part below 5 MiB before the last, or a gap, is refused at completion naming the rule', async () => {
    // Prepare
    const { body: created } = await create({
      key: 'presigned/small.bin',
      presigned: true,
      size: 12 * MiB,
      partSize: 5 * MiB,
    });
    const part = async (n: number, size: number) => {
      const res = await fetch(created.urls[n - 1]?.url ?? '', {
        method: 'PUT',
        body: new Uint8Array(randomBytes(size)),
      });
      assert.equal(res.status, 200, await res.text());
    };

    // Act
    await part(1, MiB);
    await part(3, MiB);
    const gap = await api(`/vaults/default/uploads/${created.uploadId}/complete`, {
      method: 'POST',
    });
    await part(2, MiB);
    const small = await api(`/vaults/default/uploads/${created.uploadId}/complete`, {
      method: 'POST',
    });

    // Assess
    assert.equal(gap.status, 400);
    assert.match(
      ((await gap.json()) as { error: { message: string } }).error.message,
      /^parts: part 2 is missing/,
    );
    assert.equal(small.status, 400);
    assert.match(
      ((await small.json()) as { error: { message: string } }).error.message,
      /^parts: part 1 is 1048576 bytes; every part but the last must be at least 5242880/,
    );
  });

  test('bad presigned requests are 400s naming the field and rule', async () => {
    // Act
    const noSize = await create({ key: 'p/a', presigned: true });
    const tinyParts = await create({ key: 'p/a', presigned: true, size: 10, partSize: MiB });
    const tooMany = await create({
      key: 'p/a',
      presigned: true,
      size: 6000 * 5 * MiB,
      partSize: 5 * MiB,
    });
    const sizeAlone = await create({ key: 'p/a', size: 10 });
    const badMeta = await create({ key: 'p/a', meta: { Camera: 'x' } });
    const bigMeta = await create({ key: 'p/a', meta: { a: 'x'.repeat(2048) } });

    // Assess
    assert.deepEqual(
      [noSize, tinyParts, tooMany, sizeAlone, badMeta, bigMeta].map((r) => [
        r.status,
        r.body.error?.message.split(':')[0],
      ]),
      [
        [400, 'size'],
        [400, 'partSize'],
        [400, 'partSize'],
        [400, 'size'],
        [400, 'meta.Camera'],
        [400, 'meta'],
      ],
    );
  });
});

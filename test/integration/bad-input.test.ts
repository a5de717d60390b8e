/**
 * Malformed input on the local cloud is a 400 naming the field and the rule, never a 500. The
 * cursors, ids and escapes here were 500s before input parsing was hardened, the keys and
 * numbers were accepted, and deep bodies were refused for another reason; bodies with odd
 * types were already 400s and are kept so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { PROJECT_ROOT, startTestCloud, tempDir } from '../helpers/local-cloud.ts';

interface ErrorBody {
  error: { code: string; message: string };
}

describe('malformed input', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);

  /** Asserts a 400 InvalidParameter whose message names `field` and matches `rule`. */
  async function refused(res: Response, field: string, rule?: RegExp): Promise<void> {
    const text = await res.text();
    assert.equal(res.status, 400, text);
    const { error } = JSON.parse(text) as ErrorBody;
    assert.equal(error.code, 'InvalidParameter', text);
    assert.ok(error.message.startsWith(`${field}: `), text);
    if (rule) assert.match(error.message, rule);
  }

  async function openUpload(key: string): Promise<string> {
    const res = await api('/vaults/default/uploads', {
      method: 'POST',
      body: JSON.stringify({ key }),
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as { uploadId: string }).uploadId;
  }

  before(async () => {
    dir = await tempDir('dsn-bad-input');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('a listing cursor holding a 2,000-byte key is a 400 on cursor', async () => {
    const cursor = Buffer.from(JSON.stringify('k'.repeat(2000))).toString('base64url');
    await refused(await api(`/vaults/default/objects?cursor=${cursor}`), 'cursor');
    await refused(await api(`/vaults/default/objects?cursor=${'A'.repeat(5000)}`), 'cursor');
    await refused(await api('/vaults/default/objects?cursor=%25%25'), 'cursor');
    // The empty key: DynamoDB refuses an empty key attribute in a start key.
    const empty = Buffer.from('""').toString('base64url');
    await refused(await api(`/vaults/default/objects?cursor=${empty}`), 'cursor');
    assert.equal((await api('/vaults/default/objects?cursor=')).status, 200, 'the first page');
  });

  test('a listing prefix longer than any key is a 400 on prefix', async () => {
    await refused(
      await api(`/vaults/default/objects?prefix=${'p'.repeat(1025)}`),
      'prefix',
      /at most 1024 bytes/,
    );
  });

  test('a listing limit is a plain decimal integer 1..1000', async () => {
    for (const limit of ['1e2', '0x10', '%201', '1.0', '0', '1001', '']) {
      await refused(await api(`/vaults/default/objects?limit=${limit}`), 'limit');
    }
  });

  test('revision and upload ids of 2,100 characters are a 400 on revision or upload', async () => {
    const id = 'r'.repeat(2100);
    await refused(await api(`/vaults/default/revisions/${id}`), 'revision');
    await refused(await api(`/vaults/default/uploads/${id}`), 'upload');
    await refused(
      await api(`/vaults/default/uploads/${id}/complete`, { method: 'POST' }),
      'upload',
    );
    await refused(
      await api(`/vaults/default/uploads/${id}/parts/1`, { method: 'PUT', body: 'x' }),
      'upload',
    );
  });

  test('unknown ids of a plausible form are still a 404', async () => {
    assert.equal((await api('/vaults/default/revisions/r-nope')).status, 404);
    assert.equal((await api('/vaults/default/uploads/u-nope')).status, 404);
  });

  test('a JSON body nested 20,000 deep is a 400 on body, on every route that reads JSON', async () => {
    const depth = 20_000;
    const bodies = [
      '['.repeat(depth) + ']'.repeat(depth),
      `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
      `{"key":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    ];
    for (const path of ['/vaults', '/vaults/default/uploads', '/vaults/default/rebuild']) {
      for (const body of bodies) {
        await refused(
          await api(path, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json' },
          }),
          'body',
          /deep/,
        );
      }
    }
  });

  test('a malformed percent escape in the path is the gateway 400, not a 500', async () => {
    for (const bad of ['%', '%E0%A4%A', '%ED%A0%80', '%zz']) {
      for (const path of [`/vaults/default/objects/a${bad}`, `/vaults/${bad}`]) {
        const res = await api(path);
        assert.equal(res.status, 400, `${path}: ${await res.clone().text()}`);
        assert.deepEqual(await res.json(), { message: 'Bad Request' });
      }
    }
  });

  test('bodies with odd types are a 400 naming the field', async () => {
    const odd = '{"toString":null,"valueOf":null}';
    const cases: Array<[string, string, string]> = [
      ['/vaults/default/uploads', `{"key":${odd}}`, 'key'],
      ['/vaults/default/uploads', '{"reason":{"toString":null}}', 'reason'],
      ['/vaults', `{"name":${odd}}`, 'name'],
      ['/vaults/default/rebuild', `{"stepSegments":${odd}}`, 'stepSegments'],
      ['/vaults/default/rebuild', '{"restart":[1]}', 'restart'],
    ];
    for (const [path, body, field] of cases) {
      await refused(await api(path, { method: 'POST', body }), field);
    }
  });

  test('a key written in NFC is read, listed and deleted by its NFD spelling', async () => {
    const nfc = 'nfc/caf\u00e9.txt';
    const nfd = 'nfc/cafe\u0301.txt';
    const put = await api(`/vaults/default/objects/${encodeURI(nfc)}`, {
      method: 'PUT',
      body: 'coffee',
    });
    assert.equal(put.status, 201, await put.clone().text());
    assert.equal(((await put.json()) as { key: string }).key, nfc);

    const got = await api(`/vaults/default/objects/${encodeURI(nfd)}`);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), 'coffee');
    const head = await api(`/vaults/default/objects/${encodeURI(nfd)}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const listed = await api(
      `/vaults/default/objects?prefix=${encodeURIComponent('nfc/cafe\u0301')}`,
    );
    const { objects } = (await listed.json()) as { objects: Array<{ key: string }> };
    assert.deepEqual(
      objects.map((o) => o.key),
      [nfc],
    );
    const created = await api('/vaults/default/uploads', {
      method: 'POST',
      body: JSON.stringify({ key: nfd }),
    });
    assert.equal(((await created.json()) as { key: string }).key, nfc);

    const deleted = await api(`/vaults/default/objects/${encodeURI(nfd)}`, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assert.equal((await api(`/vaults/default/objects/${encodeURI(nfc)}`)).status, 404);
  });

  test('keys with bidi controls, empty segments or a leading slash are refused', async () => {
    await refused(
      await api(`/vaults/default/objects/${encodeURIComponent('evil\u202Etxt.exe')}`, {
        method: 'PUT',
        body: 'x',
      }),
      'key',
      /bidirectional/,
    );
    // Encoded slashes are separators once API Gateway has decoded the path, so the signature,
    // made over the path as sent, no longer holds: refused before any handler runs.
    const slashes = await api('/vaults/default/objects/a%2F%2Fb', { method: 'PUT', body: 'x' });
    assert.equal(slashes.status, 401, await slashes.text());
    for (const [key, rule] of [
      ['a//b', /empty path segments/],
      ['/lead', /must not start with "\/"/],
      ['a/../b', /"\.\." path segments/],
      ['./a', /"\." path segments/],
      ['x\u2066y', /bidirectional/],
    ] as const) {
      await refused(
        await api('/vaults/default/uploads', { method: 'POST', body: JSON.stringify({ key }) }),
        'key',
        rule,
      );
    }
  });

  test('part numbers are plain decimal integers 1..10000', async () => {
    const uploadId = await openUpload('parts/strict.bin');
    for (const part of ['1e2', '0x1', '%201', '1%20', '01', '1.0', '%2B1', '0', '10001', '-1']) {
      await refused(
        await api(`/vaults/default/uploads/${uploadId}/parts/${part}`, {
          method: 'PUT',
          body: 'x',
        }),
        'part',
        /must be an integer 1\.\.10000, in plain decimal digits/,
      );
    }
    for (const part of ['1', '10000']) {
      const res = await api(`/vaults/default/uploads/${uploadId}/parts/${part}`, {
        method: 'PUT',
        body: 'x',
      });
      assert.equal(res.status, 200, `${part}: ${await res.text()}`);
    }
  });

  test('the cloud still answers after all of it', async () => {
    assert.equal((await api('/health')).status, 200);
  });
});

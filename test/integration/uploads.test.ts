/**
 * Staged uploads on the local cloud: parts into staging, complete, the disperser streams them
 * through the writer, and the object reads back exactly with ranged GETs.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { eventually, PROJECT_ROOT, startTestCloud, tempDir } from '../helpers/local-cloud.ts';

const MiB = 1024 * 1024;

describe('staged uploads', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const json = async <T>(res: Response) => (await res.json()) as T;

  before(async () => {
    dir = await tempDir('dsn-uploads');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('a 20 MiB object goes up in parts, is dispersed, and reads back exactly by ranges', async () => {
    // Prepare
    const body = randomBytes(20 * MiB + 12345);
    const created = await api('/vaults/default/uploads', {
      method: 'POST',
      body: JSON.stringify({ key: 'big/20mib.bin' }),
    });
    const { uploadId } = await json<{ uploadId: string }>(created);
    assert.equal(created.status, 201);

    // Act: parts in reverse order, to show order comes from part numbers.
    const partSize = 4 * MiB;
    const count = Math.ceil(body.length / partSize);
    for (let p = count; p >= 1; p--) {
      const res = await api(`/vaults/default/uploads/${uploadId}/parts/${p}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(body.subarray((p - 1) * partSize, p * partSize)),
      });
      assert.equal(res.status, 200);
    }
    const complete = await api(`/vaults/default/uploads/${uploadId}/complete`, { method: 'POST' });
    assert.equal(complete.status, 202);
    const done = await eventually(
      async () => {
        const u = await json<{ state: string; revision?: string; sha256?: string }>(
          await api(`/vaults/default/uploads/${uploadId}`),
        );
        return u.state === 'dispersing' ? undefined : u;
      },
      'the dispersal to finish',
      120_000,
    );

    // Assess
    assert.equal(done.state, 'committed', JSON.stringify(done));
    assert.equal(done.sha256, createHash('sha256').update(body).digest('hex'));
    const parts: Buffer[] = [];
    for (let at = 0; at < body.length; at += partSize) {
      const res = await api('/vaults/default/objects/big/20mib.bin', {
        headers: { range: `bytes=${at}-${Math.min(at + partSize, body.length) - 1}` },
      });
      assert.equal(res.status, 206);
      parts.push(Buffer.from(await res.arrayBuffer()));
    }
    assert.ok(Buffer.concat(parts).equals(body));
    const redirect = await api('/vaults/default/objects/big/20mib.bin', { redirect: 'manual' });
    assert.equal(redirect.status, 307, 'above 4 MiB, the reader function streams it');
    const whole = await api('/vaults/default/objects/big/20mib.bin');
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(body), 'the streamed body is exact');
  });

  test('bad part numbers, gaps, and parts after completion are refused with the rule', async () => {
    const { uploadId } = await json<{ uploadId: string }>(
      await api('/vaults/default/uploads', {
        method: 'POST',
        body: JSON.stringify({ key: 'gappy' }),
      }),
    );
    const part = (n: number | string) =>
      api(`/vaults/default/uploads/${uploadId}/parts/${n}`, { method: 'PUT', body: 'x' });
    const zero = await part(0);
    assert.equal(zero.status, 400);
    assert.match(
      (await json<{ error: { message: string } }>(zero)).error.message,
      /^part: must be an integer 1..10000/,
    );
    assert.equal((await part(1)).status, 200);
    assert.equal((await part(3)).status, 200);
    const gap = await api(`/vaults/default/uploads/${uploadId}/complete`, { method: 'POST' });
    assert.equal(gap.status, 400);
    assert.match(
      (await json<{ error: { message: string } }>(gap)).error.message,
      /part 2 is missing/,
    );
    assert.equal((await part(2)).status, 200);
    assert.equal(
      (await api(`/vaults/default/uploads/${uploadId}/complete`, { method: 'POST' })).status,
      202,
    );
    const late = await part(4);
    assert.equal(late.status, 409);
    const unknown = await api('/vaults/default/uploads/u-nope', { method: 'GET' });
    assert.equal(unknown.status, 404);
    const noKey = await api('/vaults/default/uploads', { method: 'POST', body: '{}' });
    assert.equal(noKey.status, 400);
  });
});

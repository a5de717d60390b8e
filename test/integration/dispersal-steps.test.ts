/**
 * A staged dispersal longer than one disperser invocation (stage `deadline`: the disperser
 * lives 10 s and stops taking segments with 7 s left) goes in steps: each stops at a segment
 * boundary, records how far it came and queues the next, and the object commits once, exact,
 * with no slice written twice.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { eventually, PROJECT_ROOT, startTestCloud, tempDir } from '../helpers/local-cloud.ts';

const MiB = 1024 * 1024;

describe('a dispersal in steps', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);

  before(async () => {
    dir = await tempDir('dsn-dispersal-steps');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'deadline');
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('a staged upload the disperser cannot finish in one invocation commits in steps, exact, each slice written once', async () => {
    // Prepare: 33.5 MiB staged in 9 parts of 4 MiB, in a staging bucket that answers each
    // request 1.2 s late: its listing and reads alone take 12 s, more than the disperser's 10.
    const body = randomBytes(33.5 * MiB);
    const created = await api('/vaults/default/uploads', {
      method: 'POST',
      body: JSON.stringify({ key: 'big/steps.bin' }),
    });
    assert.equal(created.status, 201);
    const { uploadId } = (await created.json()) as { uploadId: string };
    const partSize = 4 * MiB;
    for (let p = 1; (p - 1) * partSize < body.length; p++) {
      const res = await api(`/vaults/default/uploads/${uploadId}/parts/${p}`, {
        method: 'PUT',
        body: new Uint8Array(body.subarray((p - 1) * partSize, p * partSize)),
      });
      assert.equal(res.status, 200);
    }
    const staging = cloud.stack.resources.get('StagingBucket')?.ref as string;
    cloud.faults.resetRequestCounts();
    cloud.faults.setBucket(staging, { unit: -1, mode: 'slow', delayMs: 1200 });

    // Act: complete, and watch the upload as it goes.
    const complete = await api(`/vaults/default/uploads/${uploadId}/complete`, { method: 'POST' });
    assert.equal(complete.status, 202);
    const seen = new Set<number>();
    const done = await eventually(
      async () => {
        const u = (await (await api(`/vaults/default/uploads/${uploadId}`)).json()) as {
          state: string;
          dispersed?: number;
          revision?: string;
          sha256?: string;
          progress?: unknown;
        };
        assert.equal(u.progress, undefined, 'the API answers no saved hash state');
        if (u.dispersed !== undefined) seen.add(u.dispersed);
        return u.state === 'dispersing' ? undefined : u;
      },
      'the dispersal to finish',
      120_000,
    );
    cloud.faults.setBucket(staging, undefined);

    // Assess: committed exact; progress was seen at segment boundaries; one revision's slices,
    // each put once.
    assert.equal(done.state, 'committed', JSON.stringify(done));
    assert.equal(done.sha256, createHash('sha256').update(body).digest('hex'));
    assert.ok(seen.size >= 1, 'a step recorded its progress');
    for (const at of seen) assert.ok(at > 0 && at < body.length && at % (8 * MiB) === 0, `${at}`);
    const read = await api('/vaults/default/objects/big/steps.bin');
    assert.equal(read.status, 200);
    assert.ok(Buffer.from(await read.arrayBuffer()).equals(body));
    const slicePuts = cloud.faults
      .units()
      .flatMap(({ bucket }) => [...cloud.faults.putsByKey(bucket)])
      .filter(([key]) => key.includes('/'));
    const revisions = new Set(slicePuts.map(([key]) => key.split('/')[2]));
    assert.deepEqual([...revisions], [done.revision]);
    assert.equal(slicePuts.length, 5 * 6, 'five segments, six slices each');
    assert.deepEqual(
      slicePuts.filter(([, n]) => n !== 1),
      [],
      'no slice written twice',
    );
  });
});

/**
 * A crash in the middle of a PUT: the local cloud runs as its own process (`npm start`'s entry),
 * is killed with SIGKILL while a write waits on two slow units, and comes back on the same data
 * directory. The object must then be absent or whole, never partial, and the janitor and the
 * rebuilder must leave no slice behind but those of a committed revision.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { objectIdOf } from '../../shared/store/revision.ts';
import {
  createVault,
  eventually,
  PROJECT_ROOT,
  startCloudProcess,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';

const SEGMENT = 64 * 1024;
const VAULT = 'crash';
const KEY = 'mid/put.bin';

/** Slice keys of the object on every unit's disk, as `<revision>/<segment>/<pillar>`. */
async function slicesOnDisk(dataDir: string): Promise<string[]> {
  const buckets = join(dataDir, 's3', 'buckets');
  const objectId = objectIdOf(VAULT, KEY);
  const found: string[] = [];
  for (const bucket of await readdir(buckets)) {
    const dir = join(buckets, bucket, 'objects', VAULT, objectId);
    const files = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
    for (const f of files) if (f.endsWith('.data')) found.push(`${bucket}:${f}`);
  }
  return found;
}

describe('a local cloud killed in the middle of a PUT', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let child: ChildProcess | undefined;
  let cloud: LocalCloud | undefined;

  before(async () => {
    dir = await tempDir('dsn-crash');
  });

  after(async () => {
    child?.kill('SIGKILL');
    await cloud?.stop();
    await dir?.remove();
  });

  test('leaves the object absent or whole, and no slice of an uncommitted revision behind', async () => {
    // Prepare: a 4-of-6 vault with T = 5, two of whose units answer 30 s late, so that the
    // write cannot commit before the crash.
    const first = await startCloudProcess(dir.path);
    child = first.child;
    const api = (path: string, init?: RequestInit) => fetch(`${first.api}${path}`, init);
    await createVault(api, { name: VAULT, writeThreshold: 5, segmentSize: SEGMENT });
    for (const unit of [2, 5]) {
      const res = await api(`/admin/units/${unit}/fault`, {
        method: 'PUT',
        body: JSON.stringify({ mode: 'slow', delayMs: 30_000 }),
      });
      assert.equal(res.status, 200);
    }
    const body = randomBytes(40 * SEGMENT + 123);
    let answered = false;
    const write = api(`/vaults/${VAULT}/objects/${KEY}`, { method: 'PUT', body }).then(
      () => {
        answered = true;
      },
      () => {},
    );

    // Act: kill it once slices are landing on the fast units, then start again.
    await eventually(
      async () => ((await slicesOnDisk(dir.path)).length >= 40 ? true : undefined),
      'slices on disk',
    );
    assert.equal(answered, false, 'the PUT was still waiting when the cloud died');
    child.kill('SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));
    child = undefined;
    await write;
    const left = await slicesOnDisk(dir.path);
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'repair');
    const again = (path: string, init?: RequestInit) =>
      fetch(`${(cloud as LocalCloud).endpoints.api}${path}`, init);

    // Assess: whatever the restarted cloud makes of the queued messages, a reader sees the
    // whole object or nothing, and cleanup leaves only a committed revision's slices.
    assert.ok(left.length > 0);
    let seen = 'nothing yet';
    const settled = await eventually(
      async () => {
        await cloud?.invoker.invoke('janitor', {});
        const started = await again(`/vaults/${VAULT}/rebuild`, {
          method: 'POST',
          body: JSON.stringify({ restart: true }),
        });
        assert.equal(started.status, 202);
        const job = await eventually(
          async () => {
            const j = (await (await again(`/vaults/${VAULT}/rebuild`)).json()) as {
              state: string;
            };
            return j.state === 'done' ? j : undefined;
          },
          'rebuild',
          30_000,
        );
        const got = await again(`/vaults/${VAULT}/objects/${KEY}`);
        const bytes = Buffer.from(await got.arrayBuffer());
        const slices = await slicesOnDisk(dir.path);
        if (got.status === 200) {
          assert.equal(bytes.length, body.length, 'a visible object is whole');
          assert.equal(
            createHash('sha256').update(bytes).digest('hex'),
            createHash('sha256').update(body).digest('hex'),
          );
          const revision = got.headers.get('x-dsn-revision') as string;
          const foreign = slices.filter((s) => !s.includes(revision));
          seen = `object visible as ${revision}; other slices on disk: ${foreign.join(', ')}`;
          return foreign.length === 0 ? { visible: true, job } : undefined;
        }
        assert.equal(got.status, 404, `neither whole nor absent: ${got.status}`);
        seen = `object absent; slices on disk: ${slices.join(', ')}; last rebuild: ${JSON.stringify(job)}`;
        return slices.length === 0 ? { visible: false, job } : undefined;
      },
      'cleanup after the crash',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen: ${seen}`);
    });
    const listed = (await (await again(`/vaults/${VAULT}/objects`)).json()) as {
      objects: Array<{ key: string; size: number }>;
    };
    assert.deepEqual(
      listed.objects.map((o) => [o.key, o.size]),
      settled.visible ? [[KEY, body.length]] : [],
    );
  });
});

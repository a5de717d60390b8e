/**
 * A dispersal in steps survives a crash of the local cloud at each named point
 * (`DSN_DISPERSER_CRASH_AT`, stage `deadline`: the disperser lives 10 s and stops taking
 * segments with 7 s left; its queue redelivers after 20 s, the units' and the status queue
 * after 30 s): restarted on the same data folder, the redelivered step resumes the same revision
 * from the progress recorded, and the object commits exact.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DISPERSAL_CRASH_POINTS } from '../../shared/store/index.ts';
import { objectIdOf } from '../../shared/store/revision.ts';
import {
  ending,
  eventually,
  killCloudProcesses,
  startCloudProcess,
  tempDir,
} from '../helpers/local-cloud.ts';

const MiB = 1024 * 1024;

/** The revisions of `key` in vault default whose slices lie in any unit's bucket. */
async function revisionsOnDisk(dataDir: string, key: string): Promise<string[]> {
  const buckets = join(dataDir, 's3', 'buckets');
  const objectId = objectIdOf('default', key);
  const found = new Set<string>();
  for (const bucket of await readdir(buckets)) {
    const files = await readdir(join(buckets, bucket, 'objects', 'default', objectId), {
      recursive: true,
    }).catch(() => [] as string[]);
    for (const f of files) if (f.endsWith('.data')) found.add(f.split('/')[0] as string);
  }
  return [...found];
}

describe('a dispersal in steps across a crash of the local cloud', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    killCloudProcesses();
  });

  for (const point of DISPERSAL_CRASH_POINTS) {
    test(`killed at ${point}, restarted, it resumes the same revision and commits exact`, async () => {
      const dir = await tempDir(`dsn-dispersal-crash-${point}`);
      try {
        // Prepare: unit 3 answers each request 1.5 s late, so a step of 3 s holds a few of
        // the 10 segments; 80 MiB staged in 4 MiB parts; the hook armed.
        const first = await startCloudProcess(dir.path, {
          DSN_STAGE: 'deadline',
          DSN_DISPERSER_CRASH_AT: point,
        });
        children.push(first.child);
        const api1 = (path: string, init?: RequestInit) => fetch(`${first.api}${path}`, init);
        const slow = await api1('/admin/units/3/fault', {
          method: 'PUT',
          body: JSON.stringify({ mode: 'slow', delayMs: 1500 }),
        });
        assert.equal(slow.status, 200, await slow.text());
        const body = randomBytes(80 * MiB);
        const key = `crash/${point}.bin`;
        const created = await api1('/vaults/default/uploads', {
          method: 'POST',
          body: JSON.stringify({ key }),
        });
        assert.equal(
          created.status,
          201,
          `${await created.clone().text()}\n${first.output().slice(-3000)}`,
        );
        const { uploadId } = (await created.json()) as { uploadId: string };
        for (let p = 1; (p - 1) * 4 * MiB < body.length; p++) {
          const res = await api1(`/vaults/default/uploads/${uploadId}/parts/${p}`, {
            method: 'PUT',
            body: new Uint8Array(body.subarray((p - 1) * 4 * MiB, p * 4 * MiB)),
          });
          assert.equal(res.status, 200);
        }

        // Act: complete; the disperser dies at the point; the cloud comes back without the hook.
        const complete = await api1(`/vaults/default/uploads/${uploadId}/complete`, {
          method: 'POST',
        });
        assert.equal(complete.status, 202);
        assert.equal(await ending(first, 'crash'), 'SIGKILL', first.output());
        const before = await revisionsOnDisk(dir.path, key);
        const second = await startCloudProcess(dir.path, { DSN_STAGE: 'deadline' });
        children.push(second.child);
        const api = (path: string, init?: RequestInit) => fetch(`${second.api}${path}`, init);
        const cut = (await (await api(`/vaults/default/uploads/${uploadId}`)).json()) as {
          state: string;
          dispersed?: number;
        };
        const done = await eventually(
          async () => {
            const u = (await (await api(`/vaults/default/uploads/${uploadId}`)).json()) as {
              state: string;
              revision?: string;
              sha256?: string;
              reason?: string;
            };
            return u.state === 'dispersing' ? undefined : u;
          },
          'the resumed dispersal',
          180_000,
        );

        // Assess: cut off mid-way with progress recorded; then committed exact, as the one
        // revision it had begun.
        assert.equal(cut.state, 'dispersing');
        assert.ok(
          cut.dispersed !== undefined && cut.dispersed > 0 && cut.dispersed < body.length,
          `dispersed ${cut.dispersed} when cut off`,
        );
        // The last step waits for the commit only within its invocation: past that the upload
        // says `pending`, and its revision is polled, as `dsn put` does.
        assert.ok(['committed', 'pending'].includes(done.state), JSON.stringify(done));
        const revision = await eventually(
          async () => {
            const r = (await (await api(`/vaults/default/revisions/${done.revision}`)).json()) as {
              state: string;
              sha256?: string;
            };
            assert.notEqual(r.state, 'failed', JSON.stringify(r));
            return r.state === 'committed' ? r : undefined;
          },
          'the commit',
          120_000,
        ).catch((err) => {
          throw new Error(`${(err as Error).message}\n${second.output().slice(-6000)}`);
        });

        assert.equal(revision.sha256, createHash('sha256').update(body).digest('hex'));
        assert.equal(before.length, 1, `revisions before the restart: ${before.join(', ')}`);
        const opened = await (await api(`/vaults/default/revisions/${before[0]}`)).text();
        assert.deepEqual(
          await revisionsOnDisk(dir.path, key),
          before,
          `no revision begun again: ${JSON.stringify(done)}\n${opened}\n${second.output().slice(-8000)}`,
        );
        assert.equal(done.revision, before[0]);
        const read = await api(`/vaults/default/objects/${key}`);
        assert.equal(read.status, 200);
        assert.ok(Buffer.from(await read.arrayBuffer()).equals(body), 'read back exact');
      } finally {
        killCloudProcesses();
        await dir.remove();
      }
    });
  }
});

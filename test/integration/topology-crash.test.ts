/**
 * A re-stripe job killed mid-way (`DSN_TOPOLOGY_CRASH_AT`: the local cloud's process dies with
 * SIGKILL once the job has moved that many objects) resumes after a restart on the same data
 * folder: the topology function's schedule takes the job over once the dead holder's lease has
 * expired, and it finishes with every object exact under the new geometry.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { LANES } from '../../shared/topology/index.ts';
import {
  ending,
  eventually,
  killCloudProcesses,
  startCloudProcess,
  tempDir,
} from '../helpers/local-cloud.ts';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  killCloudProcesses();
});

test('a re-stripe killed after 4 of 12 objects resumes after a restart and finishes exact', async () => {
  const dir = await tempDir('dsn-topology-crash');
  try {
    // Prepare: 12 objects, and the hook armed.
    const first = await startCloudProcess(dir.path, { DSN_TOPOLOGY_CRASH_AT: '4' });
    children.push(first.child);
    const api1 = (path: string, init?: RequestInit) => fetch(`${first.api}${path}`, init);
    const created = await api1('/vaults', {
      method: 'POST',
      body: JSON.stringify({
        name: 'crash',
        width: 6,
        readThreshold: 4,
        writeThreshold: 5,
        segmentSize: 65536,
        units: [0, 1, 2, 3, 4, 5],
      }),
    });
    assert.equal(created.status, 201, await created.text());
    const objects = new Map<string, Uint8Array>();
    for (let i = 0; i < 12; i++) {
      const key = `obj-${String(i).padStart(2, '0')}`;
      const body = randomBytes(1 + ((i * 13_001) % (150 * 1024)));
      const res = await api1(`/vaults/crash/objects/${key}`, {
        method: 'PUT',
        body: new Uint8Array(body),
      });
      assert.ok([201, 202].includes(res.status), await res.text());
      objects.set(key, body);
    }

    // Act: the re-stripe dies after 4 objects; the cloud comes back without the hook.
    const res = await api1('/vaults/crash/topology', {
      method: 'POST',
      body: JSON.stringify({ width: 5, readThreshold: 3, writeThreshold: 4 }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { proposal } = (await res.json()) as { proposal: string };
    // Its line on stderr may be lost with the process; the checkpoint below says where it died.
    assert.equal(await ending(first, 'crash'), 'SIGKILL', first.output());
    const second = await startCloudProcess(dir.path);
    children.push(second.child);
    const api = (path: string, init?: RequestInit) => fetch(`${second.api}${path}`, init);
    const cut = (await (await api('/vaults/crash/topology/job')).json()) as {
      state: string;
      segmentsDone: number;
      objectsDone: number;
    };
    assert.equal(cut.state, 'running', 'the job was cut off mid-way');
    // The hook kills once the 4th object's checkpoint is saved; the job moves up to LANES
    // objects at once, so the checkpoint may count one or two more that finished meanwhile.
    assert.ok(
      cut.objectsDone >= 4 && cut.objectsDone < 4 + LANES,
      `killed by the hook after 4 objects, checkpoint says ${cut.objectsDone}`,
    );

    // Assess: it resumes from its checkpoint and finishes; every object is exact, 3-of-5.
    const done = await eventually(
      async () => {
        const j = (await (await api('/vaults/crash/topology/job')).json()) as {
          id: string;
          state: string;
          objectsDone: number;
        };
        assert.notEqual(j.state, 'failed');
        return j.id === proposal && j.state === 'done' ? j : undefined;
      },
      'the resumed job',
      240_000,
    );
    // Objects that committed after the last checkpoint are found done and skipped, not moved twice.
    assert.ok(
      done.objectsDone >= cut.objectsDone && done.objectsDone <= 12,
      `${done.objectsDone} objects moved`,
    );
    for (const [key, body] of objects) {
      const got = await api(`/vaults/crash/objects/${key}`);
      assert.equal(got.status, 200, key);
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(body), `${key} exact`);
      const e = (await (await api(`/vaults/crash/objects/${key}?explain`)).json()) as {
        width: number;
        readThreshold: number;
      };
      assert.deepEqual([e.width, e.readThreshold], [5, 3], key);
    }
  } finally {
    killCloudProcesses();
    await dir.remove();
  }
});

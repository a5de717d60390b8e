/**
 * Work items with units failing, on the local cloud: the unit faults of
 * `PUT /admin/units/{u}/fault` also fail the unit's partition of the work table, where its
 * function slices and their locks live. A 4-of-6 vault with T = 4 has an ownership threshold of
 * 4, so n - threshold = 2 units may fail: with two down (one refusing writes, one reads) the
 * Lambda worker still owns and runs an item; with a third down nobody owns it, it stays queued
 * with the reason, nothing of it is lost, and it runs once the units are back. A unit that
 * refuses the owner's delete keeps the slices of a finished item; the schedule's sweep removes
 * them once it is back.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { LOCAL_ACCOUNT_ID } from '../../infra/local/provision.ts';
import { scheduledEvent } from '../../infra/local/schedule.ts';
import {
  createVault,
  eventually,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';

interface Item {
  id: string;
  state: string;
  attempts: number;
  token: number;
  reason?: string;
  result?: { count: number; objects: Array<{ key: string; size: number; sha256: string }> };
}

interface Explain {
  threshold: number;
  units: Array<{ unit: number; present: boolean; locked: boolean; error?: string }>;
}

const BODY = Buffer.from('a line to digest\nand another\n');
const SHA = createHash('sha256').update(BODY).digest('hex');

describe('work items with units failing on the local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const fail = async (unit: number, mode: string, delayMs?: number) => {
    const res = await api(`/admin/units/${unit}/fault`, {
      method: 'PUT',
      body: JSON.stringify({ mode, ...(delayMs !== undefined ? { delayMs } : {}) }),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const item = async (id: string) => (await (await api(`/vaults/jobs/work/${id}`)).json()) as Item;
  const add = async (output: string) => {
    const res = await api('/vaults/jobs/work', {
      method: 'POST',
      body: JSON.stringify({ op: 'digest', args: { prefix: 'in/', output } }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as Item).id;
  };
  const explain = async (id: string) =>
    (await (await api(`/vaults/jobs/work/${id}?explain`)).json()) as Explain;
  const sweep = () =>
    cloud.invoker.invoke(
      'worker',
      scheduledEvent(cloud.service.region, LOCAL_ACCOUNT_ID, 'arn:test:sweep', new Date()),
    );
  const done = (id: string) =>
    eventually(
      async () => {
        const it = await item(id);
        return ['done', 'failed'].includes(it.state) ? it : undefined;
      },
      `${id} to finish`,
      60_000,
    );
  const digestLines = async (key: string) => {
    const res = await api(`/vaults/jobs/objects/${key}`);
    assert.equal(res.status, 200, `GET ${key}`);
    return (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  };

  before(async () => {
    dir = await tempDir('dsn-work-faults');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    await createVault(api, { name: 'jobs', writeThreshold: 4, segmentSize: 64 * 1024 });
    const res = await api('/vaults/jobs/objects/in/a.txt', { method: 'PUT', body: BODY });
    assert.equal(res.status, 201);
  });

  afterEach(async () => {
    for (const unit of [0, 1, 2, 3]) await api(`/admin/units/${unit}/fault`, { method: 'DELETE' });
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('with n - threshold units failing (one refusing writes, one reads) the item is owned and done', async () => {
    // Arrange
    await fail(0, 'write-fail');
    await fail(1, 'read-fail');

    // Act: the add nudges the Lambda worker.
    const id = await add('out/two-down.jsonl');
    const finished = await done(id);

    // Assert
    assert.equal(finished.state, 'done', JSON.stringify(finished));
    assert.equal(finished.attempts, 1);
    assert.deepEqual(finished.result?.objects, [
      { key: 'in/a.txt', size: BODY.length, sha256: SHA },
    ]);
    assert.deepEqual(await digestLines('out/two-down.jsonl'), finished.result?.objects);
  });

  test('with one more unit failing nobody owns the item: it stays queued with the reason, nothing is lost, and it runs once the units are back', async () => {
    // Arrange: unit 0 refuses writes (so it never stores its slice), 1 and 2 refuse reads.
    await fail(0, 'write-fail');
    await fail(1, 'read-fail');
    await fail(2, 'read-fail');

    // Act: the add stores five slices and nudges the Lambda worker, which cannot own the item.
    const id = await add('out/three-down.jsonl');
    const waiting = await eventually(
      async () => {
        const it = await item(id);
        return it.reason ? it : undefined;
      },
      `a reason on ${id}`,
      30_000,
    );

    // Assert: queued, never started, with why; the refused units' answers show in ?explain.
    assert.equal(waiting.state, 'queued');
    assert.equal(waiting.attempts, 0);
    assert.match(
      waiting.reason ?? '',
      /3 of 6 units answered favorably, 4 needed; units failed: 0 .*1 .*2 /,
    );
    assert.equal((await api('/vaults/jobs/objects/out/three-down.jsonl')).status, 404);
    const down = (await (await api(`/vaults/jobs/work/${id}?explain`)).json()) as Explain;
    assert.deepEqual(
      down.units.map((u) => (u.error ? 'error' : u.present)),
      [false, 'error', 'error', true, true, true],
    );
    assert.ok(
      down.units.every((u) => !u.locked),
      'the refused claim released what it locked',
    );

    // Act: the units come back; nothing was lost: five slices, none locked.
    for (const unit of [0, 1, 2]) {
      const res = await api(`/admin/units/${unit}/fault`, { method: 'DELETE' });
      assert.equal(res.status, 204);
    }
    const back = (await (await api(`/vaults/jobs/work/${id}?explain`)).json()) as Explain;
    assert.deepEqual(
      back.units.map((u) => [u.present, u.locked]),
      [[false, false], ...Array(5).fill([true, false])],
    );
    // The schedule's sweep (every minute), run now.
    await cloud.invoker.invoke(
      'worker',
      scheduledEvent(cloud.service.region, LOCAL_ACCOUNT_ID, 'arn:test:sweep', new Date()),
    );

    // Assert: it ran, once, under a newer token than the refused claim's.
    const finished = await done(id);
    assert.equal(finished.state, 'done', JSON.stringify(finished));
    assert.equal(finished.attempts, 1);
    assert.ok(finished.token >= 2, `token ${finished.token} after a refused claim`);
    assert.equal((finished as { reason?: string }).reason, undefined);
    assert.deepEqual(await digestLines('out/three-down.jsonl'), finished.result?.objects);
    assert.equal(finished.result?.objects[0]?.sha256, SHA);
  });

  test("a unit that refuses the owner's delete keeps the finished item's slice, and the schedule's sweep removes it once the unit is back", async () => {
    // Arrange: unit 3 slow, so the add (which stores its slice there) returns before the
    // worker's requests at unit 3 can pass; then it refuses writes: the delete after the done
    // record cannot reach it, whether the worker's lock there got through or not.
    await fail(3, 'slow', 1500);
    const id = await add('out/orphan.jsonl');
    await fail(3, 'write-fail');

    // Act
    const finished = await done(id);
    // The slices go after the done record: wait for the owner's delete to have been through.
    const kept = await eventually(
      async () => {
        const e = await explain(id);
        return e.units.filter((u) => u.present).length === 1 ? e : undefined;
      },
      `the owner's delete of ${id}'s slices`,
      30_000,
    );
    await sweep();
    const whileDown = await explain(id);
    await api('/admin/units/3/fault', { method: 'DELETE' });
    await sweep();
    const swept = await explain(id);

    // Assert
    assert.equal(finished.state, 'done', JSON.stringify(finished));
    assert.deepEqual(
      kept.units.map((u) => u.present),
      [false, false, false, true, false, false],
      `only unit 3 kept its slice: ${JSON.stringify(kept)}`,
    );
    assert.equal(whileDown.units[3]?.present, true, 'a sweep while the unit is down leaves it');
    assert.ok(
      swept.units.every((u) => !u.present),
      `the sweep removed it: ${JSON.stringify(swept)}`,
    );
  });
});

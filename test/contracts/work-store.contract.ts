/**
 * The WorkStore contract: the sequence counter, catalog records with conditional updates, and
 * lock-read-delete on function slices (one conditional write that locks and returns the slice,
 * leases, fencing tokens).
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { type WorkRecord, type WorkStore, workId } from '../../shared/work/index.ts';
import { type PortFactory, portTest } from './contract.ts';

const T0 = Date.parse('2026-12-01T00:00:00Z');

function recordOf(seq: number, vault = 'jobs'): WorkRecord {
  return {
    vault,
    seq,
    id: workId(seq),
    op: 'digest',
    args: { prefix: 'logs/' },
    after: [],
    state: 'queued',
    attempts: 0,
    token: 0,
    createdAt: new Date(T0).toISOString(),
    units: [0, 1, 2],
    readThreshold: 2,
    writeThreshold: 2,
  };
}

const SLICE = Uint8Array.from([1, 2, 3, 250, 0, 9]);
const lock = (owner: string, token: number, leaseUntil = T0 + 60_000) => ({
  owner,
  token,
  leaseUntil,
});

export function workStoreContract(name: string, factory: PortFactory<WorkStore>): void {
  const it = portTest(factory);

  describe(`WorkStore contract: ${name}`, () => {
    it('sequence numbers count from 1 per vault, and concurrent calls never share one', async (s) => {
      const seqs = await Promise.all([1, 2, 3, 4, 5].map(() => s.nextSeq('jobs')));
      assert.deepEqual(
        [...seqs].sort((a, b) => a - b),
        [1, 2, 3, 4, 5],
      );
      assert.equal(await s.nextSeq('other'), 1);
    });

    it('fencing tokens rise per item, each issued once', async (s) => {
      const tokens = await Promise.all([1, 2, 3].map(() => s.newToken('jobs', 7)));
      assert.deepEqual([...tokens].sort(), [1, 2, 3]);
      assert.equal(await s.newToken('jobs', 8), 1);
    });

    it('a record is created once and read back as it was', async (s) => {
      const record = recordOf(1);
      await s.create(record);
      await s.create({ ...record, op: 'grep' });
      assert.deepEqual(await s.get('jobs', 1), record);
      assert.equal(await s.get('jobs', 2), undefined);
    });

    it('the list is in seq order, filtered by state, and pages with a cursor', async (s) => {
      // Prepare
      for (const seq of [3, 1, 2, 5, 4]) await s.create(recordOf(seq));
      await s.update('jobs', 2, { state: 'done' }, {});
      await s.create(recordOf(1, 'other'));

      // Act
      const first = await s.list('jobs', { limit: 2 });
      const rest = await s.list('jobs', { limit: 10, afterSeq: first.cursor });
      const open = await s.list('jobs', { states: ['queued', 'running'], limit: 10 });

      // Assess
      assert.deepEqual(
        first.items.map((r) => r.seq),
        [1, 2],
      );
      assert.equal(first.cursor, 2);
      assert.deepEqual(
        rest.items.map((r) => r.seq),
        [3, 4, 5],
      );
      assert.equal(rest.cursor, undefined);
      assert.deepEqual(
        open.items.map((r) => r.seq),
        [1, 3, 4, 5],
      );
    });

    it('an update applies only when its conditions hold, and undefined removes a field', async (s) => {
      // Prepare
      await s.create({ ...recordOf(1), reason: 'units down' });

      // Act and assess
      assert.equal(await s.update('jobs', 1, { state: 'running' }, { states: ['done'] }), false);
      assert.equal(
        await s.update(
          'jobs',
          1,
          { state: 'running', token: 4, owner: 'a', reason: undefined },
          { states: ['queued'], tokenBelow: 4 },
        ),
        true,
      );
      assert.equal(
        await s.update('jobs', 1, { token: 3 }, { tokenBelow: 3 }),
        false,
        'an older token',
      );
      assert.equal(
        await s.update('jobs', 1, { state: 'done' }, { token: 3 }),
        false,
        'not the owner',
      );
      assert.equal(
        await s.update(
          'jobs',
          1,
          { state: 'done', result: { count: 2 }, owner: undefined },
          { token: 4, states: ['running'] },
        ),
        true,
      );
      assert.equal(await s.update('jobs', 9, { state: 'done' }, {}), false, 'no such record');
      const record = await s.get('jobs', 1);
      assert.deepEqual(
        {
          state: record?.state,
          token: record?.token,
          owner: record?.owner,
          reason: record?.reason,
          result: record?.result,
        },
        { state: 'done', token: 4, owner: undefined, reason: undefined, result: { count: 2 } },
      );
    });

    it('lock-read-delete locks a free slice and returns it in the same answer', async (s) => {
      // Prepare
      await s.putSlice('jobs', 1, 0, SLICE);
      await s.putSlice('jobs', 1, 0, Uint8Array.from([7]));

      // Act
      const got = await s.lockSlice('jobs', 1, 0, lock('a', 1), T0);

      // Assess
      assert.deepEqual(got && [...got], [...SLICE], 'the first slice stored, not the redo');
      assert.deepEqual(await s.sliceState('jobs', 1, 0), {
        unit: 0,
        present: true,
        locked: true,
        owner: 'a',
        token: 1,
        leaseUntil: T0 + 60_000,
      });
      assert.equal(await s.lockSlice('jobs', 1, 1, lock('a', 2), T0), undefined, 'no slice there');
    });

    it('a locked slice is refused to others until its lease ends, then a newer token takes it', async (s) => {
      await s.putSlice('jobs', 1, 0, SLICE);
      await s.lockSlice('jobs', 1, 0, lock('a', 1, T0 + 1000), T0);
      assert.equal(await s.lockSlice('jobs', 1, 0, lock('b', 2), T0 + 500), undefined);
      const taken = await s.lockSlice('jobs', 1, 0, lock('b', 2), T0 + 1001);
      assert.ok(taken);
      assert.equal((await s.sliceState('jobs', 1, 0)).owner, 'b');
    });

    it('of concurrent lock requests on one slice exactly one wins', async (s) => {
      await s.putSlice('jobs', 1, 0, SLICE);
      const answers = await Promise.all(
        [1, 2, 3, 4].map((t) => s.lockSlice('jobs', 1, 0, lock(`w${t}`, t), T0)),
      );
      assert.equal(answers.filter((a) => a !== undefined).length, 1);
    });

    it('release, renew and delete hold only for the token that locked; an older token never relocks', async (s) => {
      // Prepare
      await s.putSlice('jobs', 1, 0, SLICE);
      await s.lockSlice('jobs', 1, 0, lock('a', 5), T0);

      // Act and assess
      assert.equal(await s.renewSlice('jobs', 1, 0, 4, T0 + 99_000), false);
      assert.equal(await s.renewSlice('jobs', 1, 0, 5, T0 + 99_000), true);
      assert.equal((await s.sliceState('jobs', 1, 0)).leaseUntil, T0 + 99_000);
      assert.equal(await s.releaseSlice('jobs', 1, 0, 4), false);
      assert.equal(await s.releaseSlice('jobs', 1, 0, 5), true);
      assert.equal((await s.sliceState('jobs', 1, 0)).locked, false);
      assert.equal(
        await s.renewSlice('jobs', 1, 0, 5, T0 + 99_000),
        false,
        'released: nothing to renew',
      );
      assert.equal(
        await s.lockSlice('jobs', 1, 0, lock('old', 3), T0),
        undefined,
        'an older token',
      );
      assert.ok(await s.lockSlice('jobs', 1, 0, lock('b', 6), T0));
      assert.equal(await s.deleteSlice('jobs', 1, 0, 5), false, 'a stale owner cannot delete');
      assert.equal(await s.deleteSlice('jobs', 1, 0, 6), true);
      assert.deepEqual(await s.sliceState('jobs', 1, 0), {
        unit: 0,
        present: false,
        locked: false,
      });
    });
  });
}

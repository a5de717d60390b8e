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

    it('a reservation starts an attempt with the next fencing token, only while nobody holds the item', async (s) => {
      // Prepare
      await s.create({ ...recordOf(7), reason: 'units down' });
      await s.create({ ...recordOf(8), state: 'done' });
      await s.create({ ...recordOf(9), notBefore: T0 + 5000 });
      const started = new Date(T0).toISOString();
      const hold = (owner: string, leaseUntil = T0 + 1000) => ({
        owner,
        leaseUntil,
        startedAt: started,
      });

      // Act: three workers at once on a free item; then after the winner's lease.
      const racing = await Promise.all(
        ['a', 'b', 'c'].map((o) => s.reserve('jobs', 7, hold(o), T0)),
      );
      const granted = racing.filter((r) => r !== undefined);
      const taken = await s.get('jobs', 7);
      const during = await s.reserve('jobs', 7, hold('d'), T0 + 1000);
      const after = await s.reserve('jobs', 7, hold('d', T0 + 9000), T0 + 1001);
      const retaken = await s.get('jobs', 7);

      // Assess: each answer is the record as it was before.
      assert.equal(granted.length, 1, 'one reservation while the lease lives');
      assert.deepEqual(
        [granted[0]?.token, granted[0]?.state, granted[0]?.reason],
        [0, 'queued', 'units down'],
      );
      assert.deepEqual(
        [
          taken?.state,
          taken?.token,
          taken?.attempts,
          taken?.leaseUntil,
          taken?.startedAt,
          taken?.reason,
        ],
        ['running', 1, 1, T0 + 1000, started, undefined],
      );
      assert.equal(during, undefined);
      assert.deepEqual([after?.token, after?.state], [1, 'running']);
      assert.deepEqual(
        [retaken?.token, retaken?.owner, retaken?.leaseUntil, retaken?.attempts],
        [2, 'd', T0 + 9000, 2],
      );
      assert.equal(await s.reserve('jobs', 8, hold('a'), T0), undefined, 'finished');
      assert.equal(await s.reserve('jobs', 9, hold('a'), T0 + 4999), undefined, 'backing off');
      assert.equal((await s.reserve('jobs', 9, hold('a'), T0 + 5000))?.token, 0);
      assert.equal(await s.reserve('jobs', 10, hold('a'), T0), undefined, 'no such item');
      const open = await s.list('jobs', { states: ['queued', 'running'], limit: 10 });
      assert.deepEqual(
        open.items.map((r) => [r.seq, r.state]),
        [
          [7, 'running'],
          [9, 'running'],
        ],
      );
    });

    it('a reservation sent again after its answer was lost answers as granted: the token before it, and nothing counted twice', async (s) => {
      // Prepare
      await s.create({ ...recordOf(7), reason: 'units down' });
      const mine = { owner: 'a', leaseUntil: T0 + 1000, startedAt: new Date(T0).toISOString() };
      await s.reserve('jobs', 7, mine, T0);

      // Act
      const again = await s.reserve('jobs', 7, mine, T0 + 5);
      const other = await s.reserve('jobs', 7, { ...mine, owner: 'b' }, T0 + 5);
      const stored = await s.get('jobs', 7);

      // Assess: the first answer again, as far as the record keeps it (not the lost reason).
      assert.deepEqual(
        [again?.token, again?.attempts, again?.state, again?.owner, again?.leaseUntil],
        [0, 0, 'queued', undefined, undefined],
      );
      assert.equal(other, undefined, 'another worker is still refused');
      assert.deepEqual(
        [stored?.token, stored?.attempts, stored?.owner, stored?.leaseUntil],
        [1, 1, 'a', T0 + 1000],
      );
    });

    it('an update sent again after its answer was lost counts as made; another change under the same condition does not', async (s) => {
      // Prepare
      await s.create({ ...recordOf(1), state: 'running', token: 3, owner: 'a' });
      const outcome = {
        state: 'done' as const,
        result: { count: 2 },
        finishedAt: new Date(T0).toISOString(),
        owner: undefined,
      };
      const when = { token: 3, states: ['running' as const] };
      await s.update('jobs', 1, outcome, when);

      // Act and assess
      assert.equal(await s.update('jobs', 1, outcome, when), true, 'the same change again');
      assert.equal(
        await s.update('jobs', 1, { ...outcome, result: { count: 3 } }, when),
        false,
        'another result',
      );
      assert.equal(
        await s.update('jobs', 1, outcome, { ...when, token: 4 }),
        false,
        'another token',
      );
      assert.deepEqual((await s.get('jobs', 1))?.result, { count: 2 });
    });

    it('the open list follows state changes: finished items leave it, a retried one stays', async (s) => {
      // Prepare
      for (const seq of [1, 2, 3, 4]) await s.create(recordOf(seq));
      await s.create({ ...recordOf(5), state: 'cancelled' });

      // Act
      await s.update('jobs', 1, { state: 'running' }, {});
      await s.update('jobs', 2, { state: 'done' }, {});
      await s.update('jobs', 3, { state: 'running' }, {});
      await s.update('jobs', 3, { state: 'queued', notBefore: T0 }, {});
      const open = await s.list('jobs', { states: ['queued', 'running'], limit: 10 });
      const queued = await s.list('jobs', { states: ['queued'], limit: 10 });
      const paged = await s.list('jobs', { states: ['queued', 'running'], limit: 2 });

      // Assess
      assert.deepEqual(
        open.items.map((r) => [r.seq, r.state]),
        [
          [1, 'running'],
          [3, 'queued'],
          [4, 'queued'],
        ],
      );
      assert.deepEqual(
        queued.items.map((r) => r.seq),
        [3, 4],
      );
      assert.deepEqual(
        paged.items.map((r) => r.seq),
        [1, 3],
      );
      assert.equal(paged.cursor, 3);
      assert.equal(open.items[1]?.notBefore, T0);
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
          { states: ['queued'] },
        ),
        true,
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
      await s.putSlice('jobs', 1, 0, SLICE, T0 - 5);
      await s.putSlice('jobs', 1, 0, Uint8Array.from([7]), T0);

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
        storedAt: T0 - 5,
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

    it('a lock sent again after its answer was lost answers the slice again; the same token for another owner does not', async (s) => {
      // Prepare
      await s.putSlice('jobs', 1, 0, SLICE);
      await s.lockSlice('jobs', 1, 0, lock('a', 1), T0);

      // Act
      const again = await s.lockSlice('jobs', 1, 0, lock('a', 1), T0 + 5);
      const other = await s.lockSlice('jobs', 1, 0, lock('b', 1), T0 + 5);

      // Assess
      assert.deepEqual(again && [...again], [...SLICE]);
      assert.equal(other, undefined);
      assert.equal((await s.sliceState('jobs', 1, 0)).owner, 'a');
    });

    it('of concurrent lock requests on one slice exactly one wins', async (s) => {
      await s.putSlice('jobs', 1, 0, SLICE);
      const answers = await Promise.all(
        [1, 2, 3, 4].map((t) => s.lockSlice('jobs', 1, 0, lock(`w${t}`, t), T0)),
      );
      assert.equal(answers.filter((a) => a !== undefined).length, 1);
    });

    it('release and renew hold only for the token that locked; an older token never relocks', async (s) => {
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
    });

    it("a finished item's slices are dropped at every unit in one call, locked or not, missing ones too", async (s) => {
      // Prepare: 30 slices over three units (more than one batch), one of them locked.
      for (let seq = 1; seq <= 10; seq++)
        for (const unit of [0, 1, 2]) await s.putSlice('jobs', seq, unit, SLICE);
      await s.putSlice('other', 1, 0, SLICE);
      await s.lockSlice('jobs', 1, 0, lock('a', 5), T0);

      // Act
      const refs = [...Array(10).keys()].flatMap((i) =>
        [0, 1, 2].map((unit) => ({ vault: 'jobs', seq: i + 1, unit })),
      );
      await s.dropSlices(refs.filter((r) => r.seq !== 10));
      await s.dropSlices([...refs.slice(0, 2), { vault: 'jobs', seq: 99, unit: 0 }]);

      // Assess
      assert.deepEqual(await s.sliceState('jobs', 1, 0), {
        unit: 0,
        present: false,
        locked: false,
      });
      for (const unit of [0, 1, 2])
        assert.deepEqual((await s.listSlices('jobs', unit, { limit: 10 })).seqs, [10]);
      assert.deepEqual((await s.listSlices('other', 0, { limit: 10 })).seqs, [1]);
    });

    it("a unit's slices are listed in seq order, by page", async (s) => {
      for (const seq of [12, 3, 7]) await s.putSlice('jobs', seq, 1, SLICE);
      await s.putSlice('jobs', 5, 2, SLICE);
      await s.putSlice('jobs-2', 1, 1, SLICE);
      const first = await s.listSlices('jobs', 1, { limit: 2 });
      const rest = await s.listSlices('jobs', 1, { limit: 2, afterSeq: first.cursor });
      assert.deepEqual(first.seqs, [3, 7]);
      assert.equal(first.cursor, 7);
      assert.deepEqual(rest.seqs, [12]);
    });
  });
}

/**
 * The lock-read-delete protocol (seed 001) over the memory WorkStore: racing workers, two
 * workers on one item, crash points with lease expiry on a ManualClock and a stale owner
 * refused by fencing, failing units, and attempts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import {
  addWork,
  cancelWork,
  claimItem,
  decodeDefinition,
  drainWork,
  getWork,
  lockReadDelete,
  MAX_RESULT_BYTES,
  ownershipThreshold,
  runNext,
  sweepSlices,
  type WorkRecord,
} from '../../../shared/work/index.ts';
import { AnswersLostWorkStore, gate, LEASE_MS, vaultOf, workWorld } from './world.ts';

type World = ReturnType<typeof workWorld>;

async function addCounts(w: World, count: number): Promise<WorkRecord[]> {
  const items: WorkRecord[] = [];
  for (let i = 0; i < count; i++)
    items.push(await addWork(w.list, 'jobs', { op: 'count', args: {} }));
  return items;
}

/** Items still queued or running. */
async function open(w: World): Promise<number> {
  return (await w.store.list('jobs', { states: ['queued', 'running'], limit: 1000 })).items.length;
}

/** Lets every pending memory call (one event-loop turn each) run. */
const settle = async (turns = 50) => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
};

describe('work items: lock-read-delete ownership', () => {
  test('the ownership threshold is max(T, floor(n/2) + 1)', () => {
    assert.equal(ownershipThreshold(6, 5), 5);
    assert.equal(ownershipThreshold(6, 3), 4);
    assert.equal(ownershipThreshold(5, 2), 3);
    assert.equal(ownershipThreshold(1, 1), 1);
  });

  test('an added item gets the next sequence number and n function slices that decode to it', async () => {
    // Prepare
    const w = workWorld();

    // Act
    const [first, second] = await addCounts(w, 2);

    // Assess
    assert.deepEqual([first?.seq, second?.seq], [1, 2]);
    assert.equal(first?.state, 'queued');
    const slices = await Promise.all(
      w.vault.units.map(async (unit) => {
        const token = 100 + unit;
        return (
          (await w.store.lockSlice('jobs', 2, unit, { owner: 't', token, leaseUntil: 1 }, 0)) ??
          null
        );
      }),
    );
    assert.ok(slices.every((s) => s !== null));
    // Any k of them give the definition back.
    const shape = { vault: 'jobs', seq: 2, width: 6, readThreshold: 4 };
    assert.deepEqual(decodeDefinition([null, slices[1] ?? null, null, ...slices.slice(3)], shape), {
      vault: 'jobs',
      seq: 2,
      op: 'count',
      args: {},
      after: [],
    });
  });

  test('8 racing workers take 60 items: each runs exactly once, no two owners of one item at once', async () => {
    // Prepare: requests reach the units in mixed orders, so claims really collide.
    const w = workWorld(vaultOf(6, 2, 2), { jitterSeed: 11 });
    const items = await addCounts(w, 60);

    // Act: a worker that owned nothing may have lost every race on the way: it drains again.
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        while ((await drainWork(w.worker(`worker-${i}`), 'jobs')) > 0 || (await open(w)) > 0);
      }),
    );

    // Assess
    for (const item of items) {
      const record = await getWork(w.list, 'jobs', item.id);
      assert.equal(record.state, 'done', item.id);
      assert.equal(w.runs.get(item.id), 1, `${item.id} ran once`);
    }
    assert.ok(w.held.length > 0, 'some workers met at an item another was taking, and passed it');
    // Fencing tokens: per item, owned claims have distinct, increasing tokens, and here
    // (no lease expired) exactly one claim owned each item.
    for (const item of items) {
      const owned = w.claims.filter((c) => c.id === item.id && c.owned);
      assert.equal(owned.length, 1, `${item.id}: ${JSON.stringify(owned)}`);
      const tokens = w.claims.filter((c) => c.id === item.id).map((c) => c.token);
      assert.equal(new Set(tokens).size, tokens.length, 'no token issued twice');
    }
    const workers = new Set(w.claims.filter((c) => c.owned).map((c) => c.worker));
    assert.ok(workers.size > 1, 'the work was shared');
  });

  test('of three lock-read-delete rounds racing on one item, with unit answers in mixed orders, at most one owns it', async () => {
    let owned = 0;
    let none = 0;
    for (let seed = 1; seed <= 40; seed++) {
      // Prepare
      // k = T = 2 of 6: a claim of 2 or 3 units decodes, so only the majority rule keeps
      // two claimers from both owning the item. The rounds race past the reservation (as
      // workers whose reservations expired in turn would), each with its own token.
      const w = workWorld(vaultOf(6, 2, 2), { jitterSeed: seed });
      const [item] = await addCounts(w, 1);
      const deps = (owner: string) => ({ store: w.store, owner, now: () => w.clock.now() });

      // Act
      const rounds = await Promise.all(
        ['a', 'b', 'c'].map((o, i) =>
          lockReadDelete(deps(o), item as WorkRecord, i + 1, w.clock.now() + LEASE_MS),
        ),
      );

      // Assess
      const owners = rounds.filter((c) => c.owned).length;
      assert.ok(owners <= 1, `seed ${seed}: ${owners} owners`);
      if (owners === 1) owned++;
      else none++;
    }
    assert.ok(owned > 0, 'some race had a winner');
    assert.ok(owned + none === 40);
  });

  test('of three claims at once on one item, one is reserved and owns it; the others ask no unit', async () => {
    // Prepare
    const w = workWorld(vaultOf(6, 2, 2), { jitterSeed: 3 });
    const [item] = await addCounts(w, 1);
    const deps = (owner: string) => ({
      store: w.store,
      owner,
      leaseMs: LEASE_MS,
      now: () => w.clock.now(),
    });
    const before = w.store.lockRequests;

    // Act
    const claims = await Promise.all(
      ['a', 'b', 'c'].map((o) => claimItem(deps(o), item as WorkRecord)),
    );

    // Assess
    assert.equal(claims.filter((c) => c.owned).length, 1);
    assert.deepEqual(
      claims.filter((c) => !c.owned).map((c) => c.why),
      ['held', 'held'],
    );
    assert.equal(
      w.store.lockRequests - before,
      ownershipThreshold(6, 2),
      'one round of unit locks, of the threshold of them (all answered favorably)',
    );
  });

  test('lock-read-delete asks the threshold of units first, rotated by seq, and the others only when some of those refuse; each unit once', async () => {
    // Prepare: 6 units, T = 4: threshold 4.
    const w = workWorld(vaultOf(6, 3, 4));
    const [first, second] = await addCounts(w, 2);
    const asked: number[] = [];
    const store = {
      lockSlice: (...args: Parameters<typeof w.store.lockSlice>) => {
        asked.push(args[2]);
        return w.store.lockSlice(...args);
      },
    } as unknown as typeof w.store;
    const deps = { store, owner: 'a', now: () => w.clock.now() };
    // Another token holds the first unit item 2 would ask, with a live lease.
    const rival = { owner: 'b', token: 50, leaseUntil: w.clock.now() + LEASE_MS };
    assert.ok(await w.store.lockSlice('jobs', 2, 2, rival, w.clock.now()));

    // Act
    const one = await lockReadDelete(deps, first as WorkRecord, 1, w.clock.now() + LEASE_MS);
    const askedOne = asked.splice(0);
    const two = await lockReadDelete(deps, second as WorkRecord, 1, w.clock.now() + LEASE_MS);

    // Assess: item 1 from pillar 1 on, four units, owned; item 2 from pillar 2 on, refused
    // there, so the two others too: every unit once, owned with five.
    assert.ok(one.owned);
    assert.deepEqual(askedOne, [1, 2, 3, 4]);
    assert.ok(two.owned);
    assert.deepEqual(asked, [2, 3, 4, 5, 0, 1]);
    assert.deepEqual(two.locked, [0, 1, 3, 4, 5]);
  });

  test('two workers on one item: exactly one owns it, the other moves on to the next item', async () => {
    // Prepare
    const w = workWorld();
    const [first, second] = await addCounts(w, 2);

    // Act
    const [a, b] = await Promise.all([
      runNext(w.worker('a'), 'jobs'),
      runNext(w.worker('b'), 'jobs'),
    ]);

    // Assess
    const reports = [a, b];
    const owner = reports.find((r) => r.ran?.id === first?.id);
    const other = reports.find((r) => r !== owner);
    assert.ok(owner && other, JSON.stringify(reports));
    assert.equal(owner.passed.length, 0);
    assert.equal(other.passed[0]?.id, first?.id, 'the loser tried the first item');
    assert.match(other.passed[0]?.why ?? '', /^held/);
    assert.equal(other.ran?.id, second?.id, 'and went on to the next');
    assert.equal(w.runs.get(first?.id ?? ''), 1);
    assert.equal(w.runs.get(second?.id ?? ''), 1);
  });

  test('workers with slots take disjoint items first (seq % count), then the others left', async () => {
    // Prepare: 6 items, 2 workers that know each other.
    const w = workWorld();
    const items = await addCounts(w, 6);
    const a = { ...w.worker('a'), slot: { index: 0, count: 2 } };
    const b = { ...w.worker('b'), slot: { index: 1, count: 2 } };

    // Act
    const [ranA, ranB] = await Promise.all([drainWork(a, 'jobs'), drainWork(b, 'jobs')]);

    // Assess
    const by = (worker: string) =>
      w.claims.filter((c) => c.worker === worker && c.owned).map((c) => Number(c.id.slice(1)));
    assert.deepEqual(by('a').slice(0, 3), [2, 4, 6], 'a: the even seqs, in order');
    assert.deepEqual(by('b').slice(0, 3), [1, 3, 5], 'b: the odd seqs, in order');
    assert.equal(ranA + ranB, items.length);
    assert.ok(
      w.claims.every((c) => c.owned),
      'no round of unit locks lost',
    );
  });

  test("a worker whose own items all wait takes the others' items, alone", async () => {
    // Prepare: worker 0 of 2, alone; its item 2 fails once and backs off.
    const w = workWorld();
    const items = await addCounts(w, 4);
    w.failures.set(items[1]?.id as string, 1);
    const a = { ...w.worker('a'), slot: { index: 0, count: 2 } };

    // Act
    await drainWork(a, 'jobs');

    // Assess: its own first (2 fails, 4), then 1 and 3 from a fresh listing.
    assert.deepEqual(
      w.claims.filter((c) => c.owned).map((c) => Number(c.id.slice(1))),
      [2, 4, 1, 3],
    );
    assert.deepEqual(
      items.map((item) => w.runs.get(item?.id as string) ?? 0),
      [1, 0, 1, 1],
    );
  });

  test('a losing claim releases the slices it locked, so the item is not held by anyone', async () => {
    // Prepare: a holds 3 of 6 units' slices of item 1, b gets the other 3: neither reaches 5.
    const w = workWorld();
    const [item] = await addCounts(w, 1);
    const record = item as WorkRecord;
    const now = w.clock.now();
    for (const unit of [0, 1, 2])
      await w.store.lockSlice(
        'jobs',
        1,
        unit,
        { owner: 'a', token: 50, leaseUntil: now + LEASE_MS },
        now,
      );

    // Act
    const claim = await claimItem(
      { store: w.store, owner: 'b', leaseMs: LEASE_MS, now: () => w.clock.now() },
      record,
    );

    // Assess
    assert.equal(claim.owned, false);
    for (const unit of [3, 4, 5])
      assert.equal((await w.store.sliceState('jobs', 1, unit)).locked, false);
    for (const unit of [0, 1, 2])
      assert.equal((await w.store.sliceState('jobs', 1, unit)).owner, 'a');
  });

  for (const point of [
    'after the locks',
    'in the middle of the op',
    'after the output, before the delete',
  ] as const) {
    test(`a worker killed ${point} leaves the item done exactly once after the lease, and its resumed completion is refused`, async () => {
      // Prepare
      const w = workWorld();
      const [item] = await addCounts(w, 1);
      const id = item?.id as string;
      const paused = gate();
      const reached = gate();
      const hold = async () => {
        reached.open();
        await paused.wait;
      };
      const hooks =
        point === 'after the locks'
          ? { afterLocks: hold }
          : point === 'after the output, before the delete'
            ? { afterOutput: hold }
            : {};
      if (point === 'in the middle of the op')
        w.gates.set(
          id,
          paused.wait.then(() => undefined),
        );
      const stale = runNext(w.worker('stale', hooks), 'jobs');
      if (point === 'in the middle of the op') {
        await settle();
        reached.open();
      }
      await reached.wait;

      // Act: nobody takes it while the lease lives; after it, b takes it over with a higher token.
      const early = await runNext(w.worker('b'), 'jobs');
      assert.equal(early.ran, undefined, 'the lease still holds');
      w.clock.advance(LEASE_MS + 1);
      const inOp = gate();
      w.gates.set(id, inOp.wait);
      const taking = runNext(w.worker('b'), 'jobs');
      await settle();
      // The stale worker resumes while the new owner is inside the op.
      const running = await getWork(w.list, 'jobs', id);
      assert.deepEqual([running.state, running.owner], ['running', 'b']);
      paused.open();
      const resumed = await stale;
      assert.equal((await getWork(w.list, 'jobs', id)).state, 'running', "still the new owner's");
      inOp.open();
      const takeover = await taking;

      // Assess
      assert.equal(takeover.ran?.outcome, 'done');
      const staleToken = w.claims.find((c) => c.worker === 'stale' && c.owned)?.token ?? 0;
      assert.ok((takeover.ran?.token ?? 0) > staleToken, 'the takeover has a higher token');
      assert.equal(resumed.ran?.outcome, 'refused', 'the stale owner cannot complete');
      const record = await getWork(w.list, 'jobs', id);
      assert.equal(record.state, 'done');
      assert.equal(record.token, takeover.ran?.token);
      assert.deepEqual([...w.outputs], [`out/${id}`], 'one output, whoever wrote it');
      // A worker resumed after its claim is fenced off before the op; one resumed inside or after
      // the op finishes it a second time, to the same key, and only its record is refused.
      assert.equal(w.runs.get(id), point === 'after the locks' ? 1 : 2);
      const explain = await Promise.all(w.vault.units.map((u) => w.store.sliceState('jobs', 1, u)));
      assert.ok(
        explain.every((s) => !s.present),
        'the slices are deleted',
      );
    });
  }

  test('with n - threshold units failing ownership still works; with one more the item stays queued with a reason, and runs once they are back', async () => {
    // Prepare: 6 units, T = 4: threshold 4, so 2 may fail.
    const w = workWorld(vaultOf(6, 3, 4));
    const [first, second] = await addCounts(w, 2);

    // Act 1: two units down.
    w.store.failing.add(1);
    w.store.failing.add(4);
    const ok = await runNext(w.worker('a'), 'jobs');

    // Assess 1
    assert.equal(ok.ran?.id, first?.id);
    assert.equal(ok.ran?.outcome, 'done');

    // Act 2: a third unit down.
    w.store.failing.add(2);
    const stuck = await runNext(w.worker('a'), 'jobs');

    // Assess 2
    assert.equal(stuck.ran, undefined);
    assert.match(
      stuck.passed[0]?.why ?? '',
      /^units: 3 of 6 units answered favorably, 4 needed; units failed: 1 \(unit 1 is down\)/,
    );
    const waiting = await getWork(w.list, 'jobs', second?.id as string);
    assert.equal(waiting.state, 'queued');
    assert.match(waiting.reason ?? '', /4 needed/);
    assert.equal(w.runs.get(second?.id as string), undefined);

    // Act 3: units back.
    w.store.failing.clear();
    const later = await runNext(w.worker('a'), 'jobs');

    // Assess 3
    assert.equal(later.ran?.outcome, 'done');
    const done = await getWork(w.list, 'jobs', second?.id as string);
    assert.equal(done.state, 'done');
    assert.equal(done.reason, undefined);
  });

  test('writes whose answers were lost and were sent again count as made: no phantom owner, no extra attempt, no lease to wait out', async () => {
    // Prepare: every reservation, lock and record write is applied, then sent again.
    const w = workWorld(vaultOf(6, 3, 4), { store: new AnswersLostWorkStore() });
    const [flaky, steady, blocked] = await addCounts(w, 3);
    w.failures.set(flaky?.id as string, 1);
    const t0 = w.clock.now();

    // Act 1: the flaky item fails once, the steady one runs.
    const first = await runNext(w.worker('a'), 'jobs');
    const second = await runNext(w.worker('a'), 'jobs');

    // Assess 1: each owned at its first try, with one attempt counted; the failed one waits
    // only its backoff, its slices unlocked.
    assert.deepEqual(
      [first.ran?.outcome, second.ran?.outcome],
      ['retry', 'done'],
      'owned, not taken for held',
    );
    const waiting = await getWork(w.list, 'jobs', flaky?.id as string);
    assert.deepEqual(
      [waiting.state, waiting.attempts, waiting.token, waiting.notBefore],
      ['queued', 1, 1, t0 + 1000],
    );
    for (const unit of w.vault.units)
      assert.equal((await w.store.sliceState('jobs', flaky?.seq as number, unit)).locked, false);
    const done = await getWork(w.list, 'jobs', steady?.id as string);
    assert.deepEqual([done.state, done.attempts, done.token], ['done', 1, 1]);

    // Act 2: a lock round refused (three units down) after its reservation's answer was lost.
    for (const unit of [1, 2, 4]) w.store.failing.add(unit);
    const refused = await runNext(w.worker('b'), 'jobs');
    w.store.failing.clear();

    // Assess 2: undone, not held for a lease: it waits queued, with its attempts as they were.
    assert.equal(refused.ran, undefined);
    const undone = await getWork(w.list, 'jobs', blocked?.id as string);
    assert.deepEqual([undone.state, undone.attempts, undone.owner], ['queued', 0, undefined]);
    assert.match(undone.reason ?? '', /4 needed/);

    // Act 3: the backoff over, well inside the lease a phantom owner would have held.
    w.clock.advance(1000);
    await drainWork(w.worker('c'), 'jobs');

    // Assess 3: every item ran once, on the attempts it really made.
    const after = await Promise.all(
      [flaky, steady, blocked].map((i) => getWork(w.list, 'jobs', i?.id as string)),
    );
    assert.deepEqual(
      after.map((r) => [r.state, r.attempts]),
      [
        ['done', 2],
        ['done', 1],
        ['done', 1],
      ],
    );
    assert.ok(1000 < LEASE_MS);
    assert.deepEqual(
      [flaky, steady, blocked].map((i) => w.runs.get(i?.id as string)),
      [1, 1, 1],
    );
  });

  test('a failing op is retried after a growing backoff, then ends failed with its error after 3 attempts', async () => {
    // Prepare
    const w = workWorld();
    const [flaky, broken] = await addCounts(w, 2);
    w.failures.set(flaky?.id as string, 1);
    w.failures.set(broken?.id as string, 99);
    const t0 = w.clock.now();

    // Act 1: one pass; both fail once and wait.
    await drainWork(w.worker('a'), 'jobs');
    const waiting = await getWork(w.list, 'jobs', broken?.id as string);
    const early = await runNext(w.worker('a'), 'jobs');

    // Assess 1: attempt 1 waits 1 s, visible as a not-before on the item.
    assert.deepEqual(
      [waiting.state, waiting.attempts, waiting.notBefore],
      ['queued', 1, t0 + 1000],
    );
    assert.equal(early.ran, undefined, 'nobody takes it before its not-before');
    assert.equal(early.waitUntil, t0 + 1000);

    // Act 2: after 1 s, attempt 2 of each; the broken one now waits 2 s.
    w.clock.advance(1000);
    await drainWork(w.worker('a'), 'jobs');
    const second = await getWork(w.list, 'jobs', broken?.id as string);
    assert.deepEqual([second.attempts, second.notBefore], [2, t0 + 1000 + 2000]);
    w.clock.advance(1999);
    assert.equal((await runNext(w.worker('a'), 'jobs')).ran, undefined);
    w.clock.advance(1);
    await drainWork(w.worker('a'), 'jobs');

    // Assess
    const a = await getWork(w.list, 'jobs', flaky?.id as string);
    assert.deepEqual([a.state, a.attempts], ['done', 2]);
    const b = await getWork(w.list, 'jobs', broken?.id as string);
    assert.deepEqual([b.state, b.attempts, b.notBefore], ['failed', 3, undefined]);
    assert.match(b.error ?? '', /count failed on purpose/);
  });

  test('a drain with a deadline waits out a short backoff itself', async () => {
    // Prepare
    const w = workWorld();
    const [flaky] = await addCounts(w, 1);
    w.failures.set(flaky?.id as string, 1);

    // Act: the clock moves only when the drain sleeps.
    const draining = drainWork(w.worker('a'), 'jobs', w.clock.now() + 60_000);
    await settle(200);
    w.clock.advance(1000);
    const ran = await draining;

    // Assess
    assert.equal(ran, 2, 'the failed attempt and the retry');
    assert.equal((await getWork(w.list, 'jobs', flaky?.id as string)).state, 'done');
  });

  test('an item waits for the items it runs after', async () => {
    // Prepare
    const w = workWorld();
    const [first] = await addCounts(w, 1);
    const later = await addWork(w.list, 'jobs', { op: 'count', args: {}, after: [first?.id] });
    w.failures.set(first?.id as string, 1);

    // Act: the first fails once, so the dependent is not eligible on the first pass.
    const step = await runNext(w.worker('a'), 'jobs');
    w.clock.advance(1000);
    const blocked = await runNext(w.worker('a'), 'jobs');

    // Assess
    assert.equal(step.ran?.outcome, 'retry');
    assert.equal(blocked.ran?.id, first?.id, 'the first again, never the dependent');
    assert.equal((await getWork(w.list, 'jobs', later.id)).state, 'queued');
    await drainWork(w.worker('a'), 'jobs');
    assert.equal((await getWork(w.list, 'jobs', later.id)).state, 'done');
  });

  test('an item after one that failed or was cancelled ends cancelled, with the reason naming it; so do items after it', async () => {
    // Prepare: 1 fails for good; 2 runs after 1; 3 after 2; 4 is cancelled; 5 after 4.
    const w = workWorld();
    const [first] = await addCounts(w, 1);
    const second = await addWork(w.list, 'jobs', { op: 'count', args: {}, after: [first?.id] });
    const third = await addWork(w.list, 'jobs', { op: 'count', args: {}, after: [second.id] });
    const [fourth] = await addCounts(w, 1);
    const fifth = await addWork(w.list, 'jobs', { op: 'count', args: {}, after: [fourth?.id] });
    w.failures.set(first?.id as string, 99);
    await cancelWork(w.list, 'jobs', fourth?.id as string);

    // Act
    for (let i = 0; i < 3; i++) {
      await drainWork(w.worker('a'), 'jobs');
      w.clock.advance(60_000);
    }
    await drainWork(w.worker('a'), 'jobs');

    // Assess
    const show = async (id: string) => {
      const r = await getWork(w.list, 'jobs', id);
      return [r.state, r.reason];
    };
    assert.equal((await getWork(w.list, 'jobs', first?.id as string)).state, 'failed');
    assert.deepEqual(await show(second.id), [
      'cancelled',
      `runs after ${first?.id}, which ended failed`,
    ]);
    assert.deepEqual(await show(third.id), [
      'cancelled',
      `runs after ${second.id}, which ended cancelled`,
    ]);
    assert.deepEqual(await show(fifth.id), [
      'cancelled',
      `runs after ${fourth?.id}, which ended cancelled`,
    ]);
    assert.equal(w.runs.size, 0, 'none of them ran');
    for (const item of [second, third, fifth])
      for (const unit of w.vault.units)
        assert.equal((await w.store.sliceState('jobs', item.seq, unit)).present, false);
  });

  test('the sweep deletes the slices a failing unit kept of finished and cancelled items, and leaves open ones', async () => {
    // Prepare: unit 2 down while item 1 finishes and item 2 is cancelled; item 3 stays queued.
    const w = workWorld();
    const [done, cancelled, open] = await addCounts(w, 3);
    w.store.failing.add(2);
    const step = await runNext(w.worker('a'), 'jobs');
    await cancelWork(w.list, 'jobs', cancelled?.id as string);
    const kept = async (seq: number) => (await w.store.sliceState('jobs', seq, 2)).present;
    w.store.failing.clear();
    assert.equal(step.ran?.outcome, 'done');
    assert.deepEqual([await kept(1), await kept(2)], [true, true], 'orphans at the failed unit');

    // Act: a sweep while the unit is down does nothing there; once it is back, it cleans.
    w.store.failing.add(2);
    const whileDown = await sweepSlices(w.worker('a'), 'jobs', w.vault.units);
    w.store.failing.clear();
    const swept = await sweepSlices(w.worker('a'), 'jobs', w.vault.units);
    const again = await sweepSlices(w.worker('a'), 'jobs', w.vault.units);

    // Assess
    assert.deepEqual([whileDown, swept, again], [0, 2, 0]);
    assert.deepEqual([await kept(done?.seq ?? 0), await kept(cancelled?.seq ?? 0)], [false, false]);
    for (const unit of w.vault.units)
      assert.equal((await w.store.sliceState('jobs', open?.seq ?? 0, unit)).present, true);
  });

  test('the sweep deletes the slices of an add cut off before its record once an hour old, and never those of an add that may be under way', async () => {
    // Prepare: an add whose record write is lost (the process dies there), and one that lands.
    const w = workWorld();
    const create = w.store.create.bind(w.store);
    w.store.create = async () => {
      throw new Error('the process died before the record');
    };
    await assert.rejects(addWork(w.list, 'jobs', { op: 'count', args: {} }), /died/);
    w.store.create = create;
    const [kept] = await addCounts(w, 1);
    const present = async (seq: number) => {
      let n = 0;
      for (const unit of w.vault.units)
        if ((await w.store.sliceState('jobs', seq, unit)).present) n++;
      return n;
    };
    const cutOff = (kept?.seq ?? 0) - 1;
    const before = await present(cutOff);

    // Act: a sweep within the hour, then one past it.
    w.clock.advance(30 * 60_000);
    const early = await sweepSlices(w.worker('a'), 'jobs', w.vault.units);
    w.clock.advance(31 * 60_000);
    const late = await sweepSlices(w.worker('a'), 'jobs', w.vault.units);

    // Assess
    assert.equal(before, w.vault.units.length, 'the cut-off add left a slice at every unit');
    assert.deepEqual([early, late], [0, w.vault.units.length]);
    assert.equal(await present(cutOff), 0);
    assert.equal(
      await present(kept?.seq ?? 0),
      w.vault.units.length,
      'a queued item keeps its own',
    );
  });

  test('a result too large to keep fails the item at once, finally, its slices dropped: not retaken until its lease ends, again and again', async () => {
    // Prepare: an op whose result is past what an item keeps.
    const w = workWorld();
    let runs = 0;
    w.ops.register('huge', {
      args: z.strictObject({}),
      async run() {
        runs++;
        return { text: 'x'.repeat(MAX_RESULT_BYTES) };
      },
    });
    const item = await addWork(w.list, 'jobs', { op: 'huge', args: {} });

    // Act
    await drainWork(w.worker('a'), 'jobs');
    w.clock.advance(10 * LEASE_MS);
    await drainWork(w.worker('b'), 'jobs');

    // Assess
    const ended = await getWork(w.list, 'jobs', item.id);
    assert.deepEqual([ended.state, ended.attempts, ended.result], ['failed', 1, undefined]);
    assert.match(
      ended.error ?? '',
      /^the op's result is \d+ bytes of JSON, more than the 262144 an item keeps/,
    );
    assert.equal(runs, 1, 'run once, not again');
    assert.equal(await open(w), 0);
  });
});

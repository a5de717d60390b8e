import assert from 'node:assert/strict';
import { test } from 'node:test';
import { heldReads } from '../../shared/held-reads.ts';
import { ManualClock } from '../helpers/clock.ts';

/** A read that counts its calls per key and answers `answer(key, n)` for its nth call. */
function counted<V>(answer: (key: string, n: number) => V | Error) {
  const calls = new Map<string, number>();
  const read = async (key: string): Promise<V> => {
    const n = (calls.get(key) ?? 0) + 1;
    calls.set(key, n);
    const v = answer(key, n);
    if (v instanceof Error) throw v;
    return v;
  };
  return { read, calls: (key: string) => calls.get(key) ?? 0 };
}

test('asks within the window share one read, per key; past it the key is read again', async () => {
  const clock = new ManualClock();
  const r = counted((key, n) => `${key}#${n}`);
  const held = heldReads(r.read, { now: () => clock.now(), ms: 1000 });
  assert.deepEqual(await Promise.all([held('a'), held('a'), held('b')]), ['a#1', 'a#1', 'b#1']);
  clock.advance(999);
  assert.equal(await held('a'), 'a#1');
  clock.advance(1);
  assert.equal(await held('a'), 'a#2');
  assert.equal(r.calls('a'), 2);
  assert.equal(r.calls('b'), 1);
});

test('the window runs from the start of the read, so a slow read is not held longer', async () => {
  const clock = new ManualClock();
  let release: (v: string) => void = () => {};
  let n = 0;
  const held = heldReads(
    () => {
      n++;
      return new Promise<string>((r) => {
        release = r;
      });
    },
    { now: () => clock.now(), ms: 1000 },
  );
  const first = held('k');
  clock.advance(1500);
  release('old');
  assert.equal(await first, 'old');
  const second = held('k');
  release('new');
  assert.equal(await second, 'new');
  assert.equal(n, 2);
});

test('a failed read is not held: the next ask reads again, and the error reaches every sharer', async () => {
  const clock = new ManualClock();
  const r = counted((_key, n) => (n === 1 ? new Error('throttled') : 'fine'));
  const held = heldReads(r.read, { now: () => clock.now(), ms: 1000 });
  const both = await Promise.allSettled([held('k'), held('k')]);
  assert.deepEqual(
    both.map((s) => s.status),
    ['rejected', 'rejected'],
  );
  assert.equal(await held('k'), 'fine');
  assert.equal(r.calls('k'), 2);
});

test('an answer `keep` turns down is shared while in flight, then read again', async () => {
  const clock = new ManualClock();
  const r = counted((_key, n) => (n === 1 ? 'frozen' : undefined));
  const held = heldReads(r.read, {
    now: () => clock.now(),
    ms: 1000,
    keep: (v) => v === undefined,
  });
  assert.deepEqual(await Promise.all([held('v'), held('v')]), ['frozen', 'frozen']);
  assert.equal(await held('v'), undefined);
  assert.equal(await held('v'), undefined);
  assert.equal(r.calls('v'), 2);
});

test('`fresh` reads now, and its answer is the one held from then on', async () => {
  const clock = new ManualClock();
  const r = counted((_key, n) => n);
  const held = heldReads(r.read, { now: () => clock.now(), ms: 1000 });
  assert.equal(await held('k'), 1);
  assert.equal(await held('k', { fresh: true }), 2);
  assert.equal(await held('k'), 2);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Throttle } from '../../../shared/repair/throttle.ts';

/** A clock that only moves when the throttle sleeps. */
function fakeClock() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    date: () => new Date(t),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

test('a budget of B bytes per second lets B bytes through at once, then paces the rest', async () => {
  const clock = fakeClock();
  const throttle = new Throttle(1000, clock);
  await throttle.take(1000);
  assert.deepEqual(clock.sleeps, []);
  await throttle.take(500);
  await throttle.take(500);
  // 2000 bytes in all at 1000 B/s: one second of waiting after the first second's budget.
  assert.equal(
    clock.sleeps.reduce((a, b) => a + b, 0),
    1000,
  );
  assert.equal(clock.now(), 1000);
});

test('idle time refills the budget, up to one second of it', async () => {
  const clock = fakeClock();
  const throttle = new Throttle(1000, clock);
  await throttle.take(1000);
  await clock.sleep(10_000);
  clock.sleeps.length = 0;
  await throttle.take(1000);
  assert.deepEqual(clock.sleeps, []);
  await throttle.take(1);
  assert.deepEqual(clock.sleeps, [1]);
});

test('0 means no limit, and a negative budget is refused by name', async () => {
  const clock = fakeClock();
  await new Throttle(0, clock).take(1e12);
  assert.deepEqual(clock.sleeps, []);
  assert.throws(() => new Throttle(-1), /bytesPerSecond must be >= 0/);
});

/**
 * The slow-task fault hook (shared/aws/replication/slow-task.ts): unset it does nothing; set it
 * waits that long on the worker's clock; a bad value names the variable and the rule.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slowTaskHook } from '../../../../shared/aws/replication/slow-task.ts';
import { ManualClock } from '../../../helpers/clock.ts';

test('unset or empty, the hook waits for nothing', async () => {
  const clock = new ManualClock();
  for (const value of [undefined, '']) {
    await slowTaskHook(value, clock)();
    assert.equal(clock.sleeping, 0);
  }
});

test("set, the hook waits that many milliseconds of the worker's clock", async () => {
  const clock = new ManualClock();
  const start = clock.now();
  let done = false;
  const wait = slowTaskHook('400', clock)().then(() => {
    done = true;
  });
  clock.advance(399);
  await Promise.resolve();
  assert.equal(done, false);
  clock.advance(1);
  await wait;
  assert.equal(clock.now() - start, 400);
});

test('a bad value is refused at wiring, naming the variable and the rule', () => {
  const clock = new ManualClock();
  for (const [value, rule] of [
    ['fast', /DSN_REPLICATION_SLOW_TASK_MS must be a number of milliseconds, got "fast"/],
    ['1.5', /must be a whole number of milliseconds/],
    ['-1', /must be 0 or more/],
    ['900001', /must be at most 900000/],
  ] as const)
    assert.throws(() => slowTaskHook(value, clock), rule);
});

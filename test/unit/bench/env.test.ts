import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { benchInt } from '../../../bench/env.ts';

const NAME = 'DSN_BENCH_TEST_KNOB';

afterEach(() => {
  delete process.env[NAME];
});

test('a knob not set, or set empty, is its default', () => {
  assert.equal(benchInt(NAME, 4, 1), 4);
  process.env[NAME] = '';
  assert.equal(benchInt(NAME, 4, 1), 4);
});

test('a knob set to a whole number in range is that number', () => {
  process.env[NAME] = '250';
  assert.equal(benchInt(NAME, 500, 1), 250);
  process.env[NAME] = '0';
  assert.equal(benchInt(NAME, 256), 0);
});

test('a knob below its minimum, fractional or not a number stops the run, naming it and the rule', () => {
  for (const bad of ['0', '-3', '1.5', 'four', '1e400']) {
    process.env[NAME] = bad;
    assert.throws(
      () => benchInt(NAME, 3, 1),
      (err: Error) =>
        err.message ===
        `${NAME} must be a whole number of at least 1; it is ${JSON.stringify(bad)}`,
      bad,
    );
  }
});

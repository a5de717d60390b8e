import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { integer, size, target, unitList } from '../../../bin/commands/arguments.ts';
import { UsageError } from '../../../bin/errors.ts';

test('a target splits at its first slash; a key may hold more slashes', () => {
  assert.deepEqual(target('photos/2024/a.jpg'), { vault: 'photos', key: '2024/a.jpg' });
  for (const bad of ['photos', '/a.jpg', 'photos/']) {
    assert.throws(
      () => target(bad),
      (err) => err instanceof UsageError && err.message === `expected VAULT/KEY, got "${bad}"`,
    );
  }
});

test('a key with a "." or ".." segment is refused: a URL would resolve it to another key', () => {
  for (const [text, dots] of [
    ['photos/tmp/../important.jpg', '..'],
    ['photos/./a', '.'],
    ['photos/..', '..'],
  ] as const) {
    assert.throws(
      () => target(text),
      (err) =>
        err instanceof UsageError &&
        err.message === `a key must not contain "${dots}" path segments, got "${text.slice(7)}"`,
    );
  }
  assert.deepEqual(target('photos/a..b/.c'), { vault: 'photos', key: 'a..b/.c' });
});

test('integers stay in their range, and the message states it', () => {
  const unit = integer(0, 255);
  assert.equal(unit('0'), 0);
  assert.equal(unit(' 255 '), 255);
  for (const bad of ['256', '-1', '1.5', 'x', '', '1e2']) {
    assert.throws(() => unit(bad), new InvalidArgumentError('must be an integer 0..255'));
  }
});

test('sizes take bytes, K and M suffixes in any case', () => {
  assert.equal(size('4096'), 4096);
  assert.equal(size('64KiB'), 64 * 1024);
  assert.equal(size('4 mib'), 4 * 1024 * 1024);
  assert.equal(size('4M'), 4 * 1024 * 1024);
  assert.equal(size('10b'), 10);
  for (const bad of ['4GiB', '1.5MiB', 'MiB', '-1']) {
    assert.throws(
      () => size(bad),
      new InvalidArgumentError('must be a size like 65536, 64KiB or 4MiB'),
    );
  }
});

test('unit lists are whole numbers from 0, separated by commas', () => {
  assert.deepEqual(unitList('0, 1,2'), [0, 1, 2]);
  for (const bad of ['0,x', '-1', '1.5']) {
    assert.throws(
      () => unitList(bad),
      new InvalidArgumentError('must be unit numbers separated by commas, like 0,1,2'),
    );
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { validateKey } from '../../../shared/store/object-key.ts';

test('UTF-8 paths up to 1024 bytes are valid keys', () => {
  for (const key of [
    'a',
    'dir/sub/file.txt',
    'é/日本/🙂',
    'x'.repeat(1024),
    'a..b/.hidden',
    '/lead',
    'trail/',
  ]) {
    assert.equal(validateKey(key), key);
  }
});

test('invalid keys are refused with the rule', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['', /must not be empty/],
    [undefined, /must not be empty/],
    ['x'.repeat(1025), /at most 1024 bytes of UTF-8, got 1025/],
    ['é'.repeat(513), /got 1026/],
    ['a\nb', /control characters/],
    ['a\u0000b', /control characters/],
    ['a/../b', /"\.\." path segments/],
    ['..', /"\.\." path segments/],
    ['a/./b', /"\." path segments/],
    ['bad\ud800', /valid UTF-8/],
  ];
  for (const [key, rule] of cases) {
    assert.throws(
      () => validateKey(key),
      (err: Error) =>
        err instanceof InvalidParameterError && err.field === 'key' && rule.test(err.message),
      JSON.stringify(key),
    );
  }
});

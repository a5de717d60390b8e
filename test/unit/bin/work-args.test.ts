/** `dsn work add --arg`: KEY=VALUE is a string, KEY:=JSON a JSON value, anything else a usage error. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgPairs } from '../../../bin/commands/work.ts';
import { UsageError } from '../../../bin/errors.ts';

test('--arg pairs: strings, JSON values, and = inside a value', () => {
  assert.deepEqual(parseArgPairs(['prefix=logs/', 'maxSize:=1000', 'pattern=a=b']), {
    prefix: 'logs/',
    maxSize: 1000,
    pattern: 'a=b',
  });
});

test('--arg without = or with bad JSON is a usage error', () => {
  assert.throws(() => parseArgPairs(['prefix']), UsageError);
  assert.throws(() => parseArgPairs(['n:={']), UsageError);
});

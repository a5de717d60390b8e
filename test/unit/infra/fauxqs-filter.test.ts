import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringArrayAware } from '../../../infra/local/fauxqs.ts';

type Attributes = Record<string, { DataType: string; StringValue: string }>;
const { matchesFilterPolicy } = (await import(
  new URL('./sns/filter.js', import.meta.resolve('fauxqs')).href
)) as { matchesFilterPolicy(policy: unknown, attributes: Attributes): boolean };

const to = (...units: string[]): Attributes => ({
  'dsn-to': { DataType: 'String.Array', StringValue: JSON.stringify(units) },
});

test('a unit filter matches a String.Array naming its unit, as SNS does, and only then', () => {
  // Prepare: unit 3's policy, as serverless.yml declares it.
  const policy = stringArrayAware({ 'dsn-to': ['unit/3'] });

  // Act and assess: fauxqs's own matcher, with the translated policy.
  assert.equal(matchesFilterPolicy(policy, to('unit/1', 'unit/3', 'unit/5')), true);
  assert.equal(matchesFilterPolicy(policy, to('unit/3')), true);
  assert.equal(matchesFilterPolicy(policy, to('unit/33', 'unit/13', 'unit/30')), false);
  assert.equal(matchesFilterPolicy(policy, to()), false);
  assert.equal(matchesFilterPolicy(policy, {}), false);
  // A plain String attribute still matches exactly.
  assert.equal(
    matchesFilterPolicy(policy, { 'dsn-to': { DataType: 'String', StringValue: 'unit/3' } }),
    true,
  );
  // Without the translation fauxqs would drop every multicast message.
  assert.equal(matchesFilterPolicy({ 'dsn-to': ['unit/3'] }, to('unit/1', 'unit/3')), false);
});

test('operators, $or groups and conditions with wildcard characters are kept as they are', () => {
  assert.deepEqual(
    stringArrayAware({
      a: ['x', { prefix: 'y' }, 'has*star'],
      $or: [{ b: ['z'] }],
    }),
    {
      a: ['x', { wildcard: '*"x"*' }, { prefix: 'y' }, 'has*star'],
      $or: [{ b: ['z', { wildcard: '*"z"*' }] }],
    },
  );
});

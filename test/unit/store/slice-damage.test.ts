import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { parseSliceDamage, type SliceDamage } from '../../../shared/store/slice-damage.ts';

const damage: SliceDamage = {
  vault: 'default',
  key: 'photos/cat.jpg',
  revision: '00mwzq0jzn82050b176c0d6f34',
  segment: 3,
  pillar: 1,
  unit: 4,
  defect: 'corrupt',
  detail: 'InvalidSliceError: corrupt slice: crc mismatch',
  at: '2026-11-24T00:00:00.000Z',
};

test('a damage record as the reader writes it parses to itself', () => {
  assert.deepEqual(parseSliceDamage(JSON.stringify(damage)), damage);
  const missing = { ...damage, defect: 'missing', detail: '' } as const;
  assert.deepEqual(parseSliceDamage(JSON.stringify(missing)), missing);
});

test('a malformed damage record is refused naming the field and the rule', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['{"vault":', 'damage', /^is not JSON, got "\{\\"vault\\":"$/],
    [
      JSON.stringify({ ...damage, defect: 'melted' }),
      'damage.defect',
      /^must be one of missing, corrupt, truncated, foreign, version, unreadable, got "melted"$/,
    ],
    [JSON.stringify({ ...damage, segment: '3' }), 'damage.segment', /integer, got "3"$/],
    [JSON.stringify({ ...damage, pillar: 256 }), 'damage.pillar', /between 0 and 255, got 256$/],
    [
      JSON.stringify({ ...damage, at: 'yesterday' }),
      'damage.at',
      /^must be an ISO 8601 time \(UTC\), got "yesterday"$/,
    ],
    [
      JSON.stringify({ ...damage, severity: 'high' }),
      'damage.severity',
      /not a slice damage field/,
    ],
    [
      JSON.stringify({ ...damage, detail: { toString: null } }),
      'damage.detail',
      /must be a string, got \{"toString":null\}$/,
    ],
    [JSON.stringify({ ...damage, key: undefined }), 'damage.key', /non-empty string, got nothing$/],
    ['[]', 'damage', /JSON object, got \[\]$/],
  ];
  for (const [body, field, rule] of cases) {
    assert.throws(
      () => parseSliceDamage(body),
      (err: unknown) =>
        err instanceof InvalidParameterError && err.field === field && rule.test(err.rule),
      body,
    );
  }
});

/** `POST /replications` bodies: each bad field named, with its rule. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { parseJobRequest } from '../../../shared/replication/job.ts';
import { partCount, taskId } from '../../../shared/replication/task.ts';

test('a request names a vault or a bucket on each side; a bad field is named', () => {
  assert.deepEqual(
    parseJobRequest({
      source: { vault: 'photos', prefix: '2026/' },
      destination: { bucket: 'offsite', endpoint: 'https://s3.example.com' },
    }),
    {
      source: { vault: 'photos', prefix: '2026/' },
      destination: { bucket: 'offsite', endpoint: 'https://s3.example.com', prefix: '' },
      deleteExtraneous: false,
      rebalance: true,
    },
  );
  const cases: Array<[unknown, RegExp]> = [
    [{ destination: { vault: 'photos' } }, /^source/],
    [{ source: { vault: 'photos' }, destination: { bucket: 'A' } }, /^destination\.bucket/],
    [
      {
        source: { vault: 'photos' },
        destination: { bucket: 'ok-bucket', endpoint: 'http://10.0.0.1' },
      },
      /^destination\.endpoint/,
    ],
    [
      { source: { vault: 'photos', credentials: 'x' }, destination: { vault: 'b' } },
      /^source\.credentials: is not a vault side field/,
    ],
    [
      { source: { vault: 'photos' }, destination: { vault: 'b' }, deleteExtraneous: 'yes' },
      /^deleteExtraneous/,
    ],
  ];
  for (const [body, rule] of cases) {
    assert.throws(
      () => parseJobRequest(body),
      (err: Error) => err instanceof InvalidParameterError && rule.test(err.message),
      JSON.stringify(body),
    );
  }
});

test('task ids come from kind and key; objects above the part size go in parts', () => {
  assert.equal(taskId('copy', 'a'), taskId('copy', 'a'));
  assert.notEqual(taskId('copy', 'a'), taskId('delete', 'a'));
  assert.equal(partCount(8, 8), 0);
  assert.equal(partCount(9, 8), 2);
  assert.equal(partCount(16, 8), 2);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messagesToDelete } from '../../../infra/local/sqs-source.ts';

const batch = [{ MessageId: 'a' }, { MessageId: 'b' }, { MessageId: 'c' }];

test('with ReportBatchItemFailures only the named records stay on the queue', () => {
  const ids = (r: unknown) => messagesToDelete(batch, r, true).map((m) => m.MessageId);
  assert.deepEqual(ids({ batchItemFailures: [{ itemIdentifier: 'b' }] }), ['a', 'c']);
  assert.deepEqual(ids({ batchItemFailures: [] }), ['a', 'b', 'c']);
  assert.deepEqual(ids(null), ['a', 'b', 'c']);
});

test('an unknown or empty item identifier fails the whole batch, as Lambda does', () => {
  assert.deepEqual(
    messagesToDelete(batch, { batchItemFailures: [{ itemIdentifier: 'zz' }] }, true),
    [],
  );
  assert.deepEqual(
    messagesToDelete(batch, { batchItemFailures: [{ itemIdentifier: '' }] }, true),
    [],
  );
  assert.deepEqual(messagesToDelete(batch, { batchItemFailures: 'b' }, true), []);
});

test('without ReportBatchItemFailures a returned failure list is ignored', () => {
  assert.equal(
    messagesToDelete(batch, { batchItemFailures: [{ itemIdentifier: 'b' }] }, false).length,
    3,
  );
});

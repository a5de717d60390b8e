import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withFence } from '../../../../shared/aws/topology/fence.ts';

const fence = { role: 'janitor', token: 7 };
const GUARD = '(attribute_not_exists(#dsnFence) OR #dsnFence <= :dsnFence)';

test("a fenced update sets the token in the write's SET clause and conditions on it, keeping the caller's condition", () => {
  // Act
  const out = withFence(
    {
      TableName: 't',
      Key: { id: 'a' },
      UpdateExpression: 'SET #state = :failed, dueAt = :d REMOVE holder',
      ConditionExpression: '#state = :pending',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':failed': 'failed', ':pending': 'pending', ':d': 1 },
    },
    fence,
    'update',
  );
  // Assess
  assert.equal(
    out.UpdateExpression,
    'SET #dsnFence = :dsnFence, #state = :failed, dueAt = :d REMOVE holder',
  );
  assert.equal(out.ConditionExpression, `(#state = :pending) AND ${GUARD}`);
  assert.equal(out.ExpressionAttributeNames?.['#dsnFence'], 'fence_janitor');
  assert.equal(out.ExpressionAttributeValues?.[':dsnFence'], 7);
  assert.equal(out.ExpressionAttributeValues?.[':pending'], 'pending');
});

test('an update without a SET clause gets one, and a placeholder that spells SET is left alone', () => {
  // Act
  const add = withFence({ UpdateExpression: 'ADD #set :one' }, fence, 'update');
  const after = withFence({ UpdateExpression: 'REMOVE a SET b = :b' }, fence, 'update');
  // Assess
  assert.equal(add.UpdateExpression, 'SET #dsnFence = :dsnFence ADD #set :one');
  assert.equal(add.ConditionExpression, GUARD);
  assert.equal(after.UpdateExpression, 'REMOVE a SET #dsnFence = :dsnFence, b = :b');
});

test('a fenced put carries the token in its item; a delete only conditions on it', () => {
  // Act
  const put = withFence({ Item: { pk: 'p', sk: 's' } }, fence, 'put');
  const del = withFence({ Key: { pk: 'p', sk: 's' } }, fence, 'delete');
  // Assess
  assert.deepEqual(put.Item, { pk: 'p', sk: 's', fence_janitor: 7 });
  assert.equal(del.Item, undefined);
  assert.equal(del.ConditionExpression, GUARD);
});

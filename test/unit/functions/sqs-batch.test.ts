import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { forEachInOrder, forWholeBatch } from '../../../functions/sqs-batch.ts';

const event = (...bodies: string[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({ messageId: `m${i}`, body }) as SQSRecord),
});

test('a record fails when any of its items was rejected, or when it does not parse', async () => {
  // Prepare: record m0 holds items a and b, m1 holds c, m2 does not parse, m3 holds d.
  const seen: string[][] = [];
  const quiet = console.error;
  console.error = () => {};
  try {
    // Act
    const out = await forWholeBatch(
      event('a,b', 'c', '!', 'd'),
      (record) => {
        if (record.body === '!') throw new Error('not a message');
        return record.body.split(',');
      },
      async (items) => {
        seen.push(items);
        return items.map((item) =>
          item === 'b' || item === 'd'
            ? { status: 'rejected', reason: new Error(`${item} failed`) }
            : { status: 'fulfilled', value: undefined },
        );
      },
    );

    // Assess: one settle call for the whole batch; m0 (via b), m2 and m3 go back.
    assert.deepEqual(seen, [['a', 'b', 'c', 'd']]);
    assert.deepEqual(out.batchItemFailures.map((f) => f.itemIdentifier).sort(), ['m0', 'm2', 'm3']);
  } finally {
    console.error = quiet;
  }
});

test('in order: the first failing record and every later one go back, untried; earlier ones stay done', async () => {
  const seen: string[] = [];
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  const out = await forEachInOrder(
    event('a', 'b', 'c', 'd'),
    async (record) => {
      seen.push(record.body);
      if (record.body === 'b') throw new Error('b failed');
    },
    log,
  );
  assert.deepEqual(seen, ['a', 'b']);
  assert.deepEqual(
    out.batchItemFailures.map((f) => f.itemIdentifier),
    ['m1', 'm2', 'm3'],
  );
  assert.deepEqual((await forEachInOrder(event('a'), async () => {}, log)).batchItemFailures, []);
});

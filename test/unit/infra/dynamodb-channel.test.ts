import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  BatchGetItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  DYNAMODB_REQUEST_CHANNEL,
  startDynamoDb,
  tablesOf,
} from '../../../infra/local/dynamodb.ts';

test('the tables a request names: its TableName, its RequestItems, or its TransactItems', () => {
  assert.deepEqual(tablesOf({ TableName: 'a', Key: {} }), ['a']);
  assert.deepEqual(tablesOf({ RequestItems: { a: {}, b: {} } }), ['a', 'b']);
  assert.deepEqual(
    tablesOf({
      TransactItems: [
        { Put: { TableName: 'a' } },
        { Update: { TableName: 'b' } },
        { ConditionCheck: { TableName: 'a' } },
      ],
    }),
    ['a', 'b'],
  );
  assert.deepEqual(tablesOf({ Limit: 3 }), []);
  assert.deepEqual(tablesOf('not an object'), []);
});

test('dynalite publishes each request it serves with its operation and tables, while someone listens', async () => {
  // Prepare: dynalite on an ephemeral port, a table, and a subscriber.
  const dir = await mkdtemp(join(tmpdir(), 'dsn-dynamo-channel-'));
  const db = await startDynamoDb({ port: 0, dataDir: dir, portVariable: 'TEST_PORT' });
  const client = new DynamoDBClient({
    endpoint: db.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const seen: Array<{ operation: string; tables: string[] }> = [];
  const listen = (m: unknown) => seen.push(m as { operation: string; tables: string[] });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: 'items',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // Requests wait for the table to be ACTIVE, as on DynamoDB (dynalite flips it on a timer).
    await waitUntilTableExists(
      { client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.2 },
      { TableName: 'items' },
    );
    subscribe(DYNAMODB_REQUEST_CHANNEL, listen);

    // Act: three requests while listening, one after.
    await client.send(new GetItemCommand({ TableName: 'items', Key: { id: { S: 'x' } } }));
    await client.send(
      new BatchGetItemCommand({ RequestItems: { items: { Keys: [{ id: { S: 'x' } }] } } }),
    );
    await client.send(new PutItemCommand({ TableName: 'items', Item: { id: { S: 'y' } } }));
    unsubscribe(DYNAMODB_REQUEST_CHANNEL, listen);
    const answered = await client.send(
      new GetItemCommand({ TableName: 'items', Key: { id: { S: 'y' } } }),
    );

    // Assess: each one, named; none once unsubscribed; dynalite still read every body whole.
    assert.deepEqual(seen, [
      { operation: 'GetItem', tables: ['items'] },
      { operation: 'BatchGetItem', tables: ['items'] },
      { operation: 'PutItem', tables: ['items'] },
    ]);
    assert.deepEqual(answered.Item, { id: { S: 'y' } });
  } finally {
    unsubscribe(DYNAMODB_REQUEST_CHANNEL, listen);
    client.destroy();
    await db.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { startDynamoDb } from '../../../infra/local/dynamodb.ts';
import { repairIndexes } from '../../../infra/local/dynamodb-indexes.ts';

// The LevelDB dynalite keeps its store in, to leave it as a kill between its writes would.
const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
const { createIndexKey } = fromDynalite('./db/index.js') as {
  createIndexKey(item: unknown, table: unknown, keySchema: unknown): string;
};
const { Level } = fromDynalite('level') as {
  Level: new (
    path: string,
    opts: { valueEncoding: 'json' },
  ) => {
    open(): Promise<void>;
    close(): Promise<void>;
    iterator(range: { gte: string; lt: string }): AsyncIterable<[string, unknown]>;
    get(key: string): Promise<unknown>;
    put(key: string, value: unknown): Promise<void>;
    del(key: string): Promise<void>;
  };
};

const INDEX_PREFIX = 'index-global~tasks~open~';
const ITEM_PREFIX = 'item-tasks~';

function clientOf(url: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

async function openIds(client: DynamoDBClient, job = 'job1'): Promise<Array<[string, string]>> {
  const out = await client.send(
    new QueryCommand({
      TableName: 'tasks',
      IndexName: 'open',
      KeyConditionExpression: 'openJob = :j',
      ExpressionAttributeValues: { ':j': { S: job } },
    }),
  );
  return (out.Items ?? [])
    .map((i): [string, string] => [i.id?.S ?? '', i.state?.S ?? ''])
    .sort(([a], [b]) => a.localeCompare(b));
}

/** The key under `prefix` whose value's `id` is `id`. */
async function keyOf(
  store: InstanceType<typeof Level>,
  prefix: string,
  id: string,
): Promise<[string, Record<string, { S: string }>]> {
  for await (const [key, value] of store.iterator({
    gte: prefix,
    lt: `${prefix.slice(0, -1)}\x7f`,
  }))
    if ((value as Record<string, { S: string }>).id?.S === id)
      return [key, value as Record<string, { S: string }>];
  throw new Error(`no ${id} under ${prefix}`);
}

test('indexes a kill left out of step with their table are put right before dynalite serves', async () => {
  // Prepare: a table with a sparse index, four open tasks and one done.
  const dir = await mkdtemp(join(tmpdir(), 'dsn-dynamo-indexes-'));
  const path = join(dir, 'dynamodb');
  let db = await startDynamoDb({ port: 0, dataDir: dir, portVariable: 'TEST_PORT' });
  let client = clientOf(db.url);
  let running = true;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: 'tasks',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: 'id', AttributeType: 'S' },
          { AttributeName: 'openJob', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'open',
            KeySchema: [
              { AttributeName: 'openJob', KeyType: 'HASH' },
              { AttributeName: 'id', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // A new table takes writes once ACTIVE, as on DynamoDB: dynalite flips it on a timer, so a
    // write sent right after CreateTable could find it CREATING (ResourceNotFoundException).
    await waitUntilTableExists(
      { client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.2 },
      { TableName: 'tasks' },
    );
    for (const id of ['a', 'b', 'c', 'd'])
      await client.send(
        new PutItemCommand({
          TableName: 'tasks',
          Item: { id: { S: id }, openJob: { S: 'job1' }, state: { S: 'running' } },
        }),
      );
    await client.send(
      new PutItemCommand({ TableName: 'tasks', Item: { id: { S: 'e' }, state: { S: 'done' } } }),
    );
    assert.deepEqual(await openIds(client), [
      ['a', 'running'],
      ['b', 'running'],
      ['c', 'running'],
      ['d', 'running'],
    ]);
    client.destroy();
    await db.stop();
    running = false;

    // Act: the store as kills between dynalite's index and item writes leave it, then a start.
    const store = new Level(path, { valueEncoding: 'json' });
    await store.open();
    // a: the `done` that removes openJob deleted the index entry; the item was never written.
    await store.del((await keyOf(store, INDEX_PREFIX, 'a'))[0]);
    // b: an update wrote the index's new version; the item keeps the old one.
    const [bKey, bValue] = await keyOf(store, INDEX_PREFIX, 'b');
    await store.put(bKey, { ...bValue, state: { S: 'queued' } });
    // c: a put of a new item wrote its index entry only (as if c's item never landed).
    await store.del((await keyOf(store, ITEM_PREFIX, 'c'))[0]);
    // d: an update moving d to job2 wrote its new entry; the item still names job1.
    const table = (await store.get('table~tasks')) as {
      GlobalSecondaryIndexes: Array<{ KeySchema: unknown }>;
    };
    const [, dValue] = await keyOf(store, INDEX_PREFIX, 'd');
    const moved = { ...dValue, openJob: { S: 'job2' } };
    const movedKey = createIndexKey(moved, table, table.GlobalSecondaryIndexes[0]?.KeySchema);
    await store.put(INDEX_PREFIX + movedKey, moved);
    await store.close();
    const lines: string[] = [];
    db = await startDynamoDb({
      port: 0,
      dataDir: dir,
      portVariable: 'TEST_PORT',
      log: (line) => lines.push(line),
    });
    client = clientOf(db.url);
    running = true;

    // Assess: the index shows exactly the table's open items, as the table holds them.
    const items = await client.send(new ScanCommand({ TableName: 'tasks' }));
    assert.deepEqual((items.Items ?? []).map((i) => i.id?.S).sort(), ['a', 'b', 'd', 'e']);
    assert.deepEqual(await openIds(client), [
      ['a', 'running'],
      ['b', 'running'],
      ['d', 'running'],
    ]);
    assert.deepEqual(await openIds(client, 'job2'), []);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0] ?? '', /index open of tasks .*2 entries written, 2 removed/);
    client.destroy();
    await db.stop();
    running = false;

    // A store in step is left as it is.
    assert.deepEqual(await repairIndexes(path), []);
  } finally {
    if (running) {
      client.destroy();
      await db.stop();
    }
    await rm(dir, { recursive: true, force: true });
  }
});

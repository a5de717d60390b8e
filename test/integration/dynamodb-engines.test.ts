/**
 * The DynamoDB behaviours the protocols rely on (conditional writes, idempotent set-adds,
 * paginated prefix queries, secondary indexes), run against both emulators the local cloud
 * offers, so a fidelity gap in either shows up here rather than in a protocol.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DynamoDbEngine, LocalCloud } from '../../infra/local/cloud.ts';
import { startLocalCloud } from '../../infra/local/cloud.ts';
import { javaAvailable } from '../../infra/local/dynamodb-local.ts';
import { EPHEMERAL_PORTS, FIXTURE_SERVICE, tempDir } from '../helpers/local-cloud.ts';

const java = await javaAvailable();

for (const engine of ['dynalite', 'dynamodb-local'] as DynamoDbEngine[]) {
  const skip =
    engine === 'dynamodb-local' && !java ? 'java is not on PATH; DynamoDB Local needs it' : false;

  describe(`DynamoDB semantics on ${engine}`, { skip }, () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let cloud: LocalCloud;
    let doc: DynamoDBDocumentClient;
    let TableName: string;

    before(async () => {
      dir = await tempDir(`dsn-${engine}`);
      cloud = await startLocalCloud({
        serviceDir: FIXTURE_SERVICE,
        dataDir: dir.path,
        stage: 'test',
        ports: EPHEMERAL_PORTS,
        dynamodbEngine: engine,
      });
      doc = DynamoDBDocumentClient.from(
        new DynamoDBClient({
          endpoint: cloud.endpoints.dynamodb,
          region: cloud.service.region,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
      );
      TableName = cloud.ref('RecordsTable');
    });

    after(async () => {
      doc?.destroy();
      await cloud?.stop();
      await dir?.remove();
    });

    test('a conditional put is refused when the item exists', async () => {
      // Prepare
      const put = () =>
        doc.send(
          new PutCommand({
            TableName,
            Item: { pk: 'owner', sk: 'fn-1', kind: 'lock' },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      await put();

      // Act / Assess
      await assert.rejects(put(), ConditionalCheckFailedException);
    });

    test('adding to a string set twice counts once, and a state flip happens exactly once', async () => {
      // Prepare
      const add = (pillar: string) =>
        doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: 'tally', sk: 'seg-0' },
            UpdateExpression: 'ADD favorable :p',
            ExpressionAttributeValues: { ':p': new Set([pillar]) },
            ReturnValues: 'ALL_NEW',
          }),
        );
      const flip = () =>
        doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: 'tally', sk: 'seg-0' },
            UpdateExpression: 'SET #s = :committed',
            ConditionExpression: 'attribute_not_exists(#s) OR #s = :pending',
            ExpressionAttributeNames: { '#s': 'state' },
            ExpressionAttributeValues: { ':committed': 'committed', ':pending': 'pending' },
          }),
        );

      // Act
      await add('0');
      await add('1');
      const again = await add('1');
      await flip();

      // Assess
      assert.deepEqual([...(again.Attributes?.favorable ?? [])].sort(), ['0', '1']);
      await assert.rejects(flip(), ConditionalCheckFailedException);
    });

    test('a prefix query pages with a cursor, and a secondary index answers', async () => {
      // Prepare
      for (const key of ['a/1', 'a/2', 'a/3', 'b/1']) {
        await doc.send(
          new PutCommand({ TableName, Item: { pk: 'vault-x', sk: key, kind: 'object' } }),
        );
      }
      const page = (cursor?: Record<string, unknown>) =>
        doc.send(
          new QueryCommand({
            TableName,
            KeyConditionExpression: 'pk = :v AND begins_with(sk, :p)',
            ExpressionAttributeValues: { ':v': 'vault-x', ':p': 'a/' },
            Limit: 2,
            ExclusiveStartKey: cursor,
          }),
        );

      // Act
      const first = await page();
      const second = await page(first.LastEvaluatedKey);
      const byKind = await doc.send(
        new QueryCommand({
          TableName,
          IndexName: 'byKind',
          KeyConditionExpression: 'kind = :k',
          ExpressionAttributeValues: { ':k': 'object' },
        }),
      );

      // Assess
      assert.deepEqual(
        first.Items?.map((i) => i.sk),
        ['a/1', 'a/2'],
      );
      assert.deepEqual(
        second.Items?.map((i) => i.sk),
        ['a/3'],
      );
      assert.equal(byKind.Items?.length, 4);
    });
  });
}

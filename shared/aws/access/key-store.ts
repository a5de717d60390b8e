/** Access keys and sessions in DynamoDB, one item per id; sessions carry a `ttl`. */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { KeyRecord, KeyStore } from '../../access/index.ts';
import { conditional } from '../conditional.ts';

export class DynamoKeyStore implements KeyStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(documents: DynamoDBDocumentClient, table: string) {
    this.documents = documents;
    this.table = table;
  }

  async put(record: KeyRecord): Promise<void> {
    const ttl =
      record.expiresAt === undefined ? undefined : Math.ceil(record.expiresAt / 1000) + 3600;
    await this.documents.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...record, policy: JSON.stringify(record.policy), ttl },
        ConditionExpression: 'attribute_not_exists(accessKeyId)',
      }),
    );
  }

  async get(accessKeyId: string): Promise<KeyRecord | undefined> {
    const out = await this.documents.send(
      new GetCommand({ TableName: this.table, Key: { accessKeyId }, ConsistentRead: true }),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async listKeys(): Promise<KeyRecord[]> {
    const records: KeyRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.documents.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: '#kind = :key',
          ExpressionAttributeNames: { '#kind': 'kind' },
          ExpressionAttributeValues: { ':key': 'key' },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) records.push(fromItem(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return records;
  }

  disable(accessKeyId: string): Promise<boolean> {
    return conditional(
      this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { accessKeyId },
          UpdateExpression: 'SET #state = :disabled',
          ConditionExpression: 'attribute_exists(accessKeyId)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':disabled': 'disabled' },
        }),
      ),
    );
  }
}

function fromItem(item: Record<string, unknown>): KeyRecord {
  const { ttl: _ttl, policy, ...rest } = item;
  return { ...(rest as Omit<KeyRecord, 'policy'>), policy: JSON.parse(String(policy)) };
}

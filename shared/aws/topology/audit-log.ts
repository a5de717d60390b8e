/**
 * AuditLog on the admin table: item (`command`, <id>) per admin command. Ids sort by time, so
 * the log reads newest first with one query.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AuditLog, CommandRecord } from '../../topology/index.ts';
import { conditionFailed } from '../conditional.ts';

const PK = 'command';

function toRecord(item: Record<string, unknown>): CommandRecord {
  const { pk: _pk, sk: _sk, ...record } = item;
  return record as unknown as CommandRecord;
}

export class DynamoAuditLog implements AuditLog {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async begin(record: CommandRecord): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: PK, sk: record.id, ...record },
          // An id is generated once: a second begin would be a defect, not a retry.
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (err) {
      // Unless it is this very record: the SDK's retry of a put applied whose answer was lost.
      if (!conditionFailed(err) || !isDeepStrictEqual(await this.get(record.id), record)) throw err;
    }
  }

  async finish(record: CommandRecord): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.table, Item: { pk: PK, sk: record.id, ...record } }),
    );
  }

  async get(id: string): Promise<CommandRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: PK, sk: id }, ConsistentRead: true }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async list(limit: number, cursor?: string) {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: cursor ? 'pk = :pk AND sk < :cursor' : 'pk = :pk',
        ExpressionAttributeValues: { ':pk': PK, ...(cursor ? { ':cursor': cursor } : {}) },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    const commands = (out.Items ?? []).map(toRecord);
    const last = commands.at(-1);
    return out.LastEvaluatedKey && last ? { commands, cursor: last.id } : { commands };
  }
}

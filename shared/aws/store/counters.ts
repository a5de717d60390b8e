/** Counters in the control table, for what is worth counting but not worth a metric system. */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export class DynamoCounters {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async increment(name: string, by = 1): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { id: `counter/${name}` },
        UpdateExpression: 'ADD #n :by',
        ExpressionAttributeNames: { '#n': 'count' },
        ExpressionAttributeValues: { ':by': by },
      }),
    );
  }
}

/** The uploaded scan rules, as one item of the control table. */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RulesStore, StoredRules } from '../../access/index.ts';

const ID = 'scan-rules';

export class DynamoRulesStore implements RulesStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async get(): Promise<StoredRules | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { id: ID }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    return {
      text: String(out.Item.text),
      updatedAt: String(out.Item.updatedAt),
      updatedBy: String(out.Item.updatedBy),
    };
  }

  async put(rules: StoredRules): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { id: ID, ...rules } }));
  }
}

/** FaultStore on DynamoDB (the control table): one item per unit with a fault injected. */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  paginateScan,
} from '@aws-sdk/lib-dynamodb';
import type { FaultStore, UnitFault } from '../fault.ts';

const PREFIX = 'fault/unit/';

export class DynamoFaultStore implements FaultStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async list(): Promise<UnitFault[]> {
    const faults: UnitFault[] = [];
    for await (const page of paginateScan(
      { client: this.db },
      { TableName: this.table, ConsistentRead: true },
    )) {
      for (const item of page.Items ?? []) {
        if (String(item.id).startsWith(PREFIX)) {
          faults.push({
            unit: Number(item.unit),
            mode: item.mode,
            ...(item.delayMs ? { delayMs: Number(item.delayMs) } : {}),
          });
        }
      }
    }
    return faults;
  }

  async set(fault: UnitFault): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.table, Item: { id: `${PREFIX}${fault.unit}`, ...fault } }),
    );
  }

  async clear(unit: number): Promise<void> {
    await this.db.send(
      new DeleteCommand({ TableName: this.table, Key: { id: `${PREFIX}${unit}` } }),
    );
  }
}

/** VaultStore on DynamoDB: one item per vault, keyed by name. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateScan,
} from '@aws-sdk/lib-dynamodb';
import { VaultExistsError, VaultNotFoundError } from '../../errors.ts';
import type { Vault, VaultStore } from '../../store/index.ts';

function toVault(item: Record<string, unknown>): Vault {
  return {
    name: String(item.name),
    width: Number(item.width),
    readThreshold: Number(item.readThreshold),
    writeThreshold: Number(item.writeThreshold),
    segmentSize: Number(item.segmentSize),
    units: (item.units as unknown[]).map(Number),
    address: String(item.address),
    createdAt: String(item.createdAt),
    ...(typeof item.topology === 'string' ? { topology: item.topology } : {}),
    ...(item.topologySince === undefined ? {} : { topologySince: Number(item.topologySince) }),
  };
}

export class DynamoVaultStore implements VaultStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async create(vault: Vault): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...vault },
          ConditionExpression: 'attribute_not_exists(#n)',
          ExpressionAttributeNames: { '#n': 'name' },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new VaultExistsError(vault.name);
      throw err;
    }
  }

  async get(name: string): Promise<Vault> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { name }, ConsistentRead: true }),
    );
    if (!out.Item) throw new VaultNotFoundError(name);
    return toVault(out.Item);
  }

  async list(): Promise<Vault[]> {
    const vaults: Vault[] = [];
    for await (const page of paginateScan(
      { client: this.db },
      { TableName: this.table, ConsistentRead: true },
    )) {
      for (const item of page.Items ?? []) vaults.push(toVault(item));
    }
    return vaults.sort((a, b) => a.name.localeCompare(b.name));
  }
}

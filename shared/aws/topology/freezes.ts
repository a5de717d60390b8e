/**
 * FreezeStore on the admin table: item (`freeze`, <vault>) is the vault's mark, which writers
 * read; items (`freeze/<vault>`, <unit>) are its units' marks.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Freeze, FreezeStore } from '../../topology/index.ts';
import { conditional } from '../conditional.ts';

const VAULTS = 'freeze';
const unitsOf = (vault: string) => `freeze/${vault}`;
/** Padded, so a vault's units list in number order. */
const unitKey = (unit: number) => String(unit).padStart(3, '0');

export class DynamoFreezeStore implements FreezeStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async get(vault: string): Promise<Freeze | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: VAULTS, sk: vault },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, ...freeze } = out.Item;
    return freeze as Freeze;
  }

  freezeVault(freeze: Freeze): Promise<boolean> {
    return conditional(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: VAULTS, sk: freeze.vault, ...freeze },
          // A second freeze keeps the first one's mark: the vault was frozen by that command.
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      ),
    );
  }

  unfreezeVault(vault: string): Promise<boolean> {
    return conditional(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: VAULTS, sk: vault },
          ConditionExpression: 'attribute_exists(sk)',
        }),
      ),
    );
  }

  freezeUnit(vault: string, unit: number, command: string, at: string): Promise<boolean> {
    return conditional(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: unitsOf(vault), sk: unitKey(unit), unit, command, at },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      ),
    );
  }

  unfreezeUnit(vault: string, unit: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: unitsOf(vault), sk: unitKey(unit) },
          ConditionExpression: 'attribute_exists(sk)',
        }),
      ),
    );
  }

  async unitFreeze(vault: string, unit: number) {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: unitsOf(vault), sk: unitKey(unit) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? { command: String(out.Item.command), at: String(out.Item.at) } : undefined;
  }

  async frozenUnits(vault: string): Promise<number[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': unitsOf(vault) },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((item) => Number(item.unit));
  }
}

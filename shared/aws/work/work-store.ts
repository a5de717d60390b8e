/**
 * WorkStore on one DynamoDB table, partitioned by unit: item `pk = unit/<u>`, `sk =
 * <vault>/<seq>` holds that unit's function slice of the item with its lock (`owner`, `token`,
 * `leaseUntil`), so a lock-read-delete is one conditional UpdateItem that returns the slice
 * (`ReturnValues: ALL_NEW`). The vault's catalog lives beside it: `pk = vault/<vault>` with
 * `sk = item/<seq>` per record, `sk = seq` for the sequence counter and `sk = token/<seq>`
 * for each item's fencing-token counter.
 */

import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  FunctionSliceState,
  RecordChange,
  RecordCondition,
  SliceLock,
  WorkRecord,
  WorkState,
  WorkStore,
} from '../../work/index.ts';
import { conditional, conditionFailed } from '../conditional.ts';

const pad = (seq: number) => String(seq).padStart(12, '0');
const unitPk = (unit: number) => `unit/${unit}`;
const vaultPk = (vault: string) => `vault/${vault}`;
const sliceSk = (vault: string, seq: number) => `${vault}/${pad(seq)}`;
const itemSk = (seq: number) => `item/${pad(seq)}`;

/** Records a listing call reads at most, whatever its filter keeps. */
const READ_LIMIT = 1000;

function toRecord(item: Record<string, unknown>): WorkRecord {
  const { pk: _pk, sk: _sk, ...record } = item;
  return record as unknown as WorkRecord;
}

export class DynamoWorkStore implements WorkStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  private async counter(vault: string, sk: string): Promise<number> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: vaultPk(vault), sk },
        UpdateExpression: 'ADD #n :one',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.n);
  }

  nextSeq(vault: string): Promise<number> {
    return this.counter(vault, 'seq');
  }

  newToken(vault: string, seq: number): Promise<number> {
    return this.counter(vault, `token/${pad(seq)}`);
  }

  async create(record: WorkRecord): Promise<void> {
    // Create only: a redo of the same add finds its record and leaves it as it is.
    await conditional(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...record, pk: vaultPk(record.vault), sk: itemSk(record.seq) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async get(vault: string, seq: number): Promise<WorkRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: vaultPk(vault), sk: itemSk(seq) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async list(
    vault: string,
    opts: { states?: readonly WorkState[]; afterSeq?: number; limit: number },
  ): Promise<{ items: WorkRecord[]; cursor?: number }> {
    const states = opts.states ?? [];
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': vaultPk(vault),
          ':from': itemSk((opts.afterSeq ?? 0) + 1),
          ':to': 'item/~',
          ...Object.fromEntries(states.map((s, i) => [`:s${i}`, s])),
        },
        ...(states.length > 0
          ? {
              FilterExpression: `#state IN (${states.map((_, i) => `:s${i}`).join(', ')})`,
              ExpressionAttributeNames: { '#state': 'state' },
            }
          : {}),
        // Without a filter, one more than asked tells whether more follow.
        Limit: states.length > 0 ? READ_LIMIT : Math.min(READ_LIMIT, opts.limit + 1),
        ConsistentRead: true,
      }),
    );
    const read = (out.Items ?? []).map(toRecord);
    const items = read.slice(0, opts.limit);
    if (read.length > opts.limit) return { items, cursor: items.at(-1)?.seq };
    const last = out.LastEvaluatedKey?.sk as string | undefined;
    if (last === undefined) return { items };
    return { items, cursor: Number(last.slice('item/'.length)) };
  }

  async update(
    vault: string,
    seq: number,
    change: RecordChange,
    when: RecordCondition,
  ): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    for (const [i, [field, value]] of Object.entries(change).entries()) {
      names[`#f${i}`] = field;
      if (value === undefined) removes.push(`#f${i}`);
      else {
        values[`:f${i}`] = value;
        sets.push(`#f${i} = :f${i}`);
      }
    }
    const conditions = ['attribute_exists(pk)'];
    if (when.states) {
      names['#state'] = 'state';
      when.states.forEach((s, i) => {
        values[`:w${i}`] = s;
      });
      conditions.push(`#state IN (${when.states.map((_, i) => `:w${i}`).join(', ')})`);
    }
    if (when.token !== undefined) {
      names['#token'] = 'token';
      values[':token'] = when.token;
      conditions.push('#token = :token');
    }
    if (when.tokenBelow !== undefined) {
      names['#token'] = 'token';
      values[':below'] = when.tokenBelow;
      conditions.push('#token < :below');
    }
    const update = [
      sets.length > 0 ? `SET ${sets.join(', ')}` : '',
      removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: vaultPk(vault), sk: itemSk(seq) },
          UpdateExpression: update,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        }),
      ),
    );
  }

  async putSlice(vault: string, seq: number, unit: number, slice: Uint8Array): Promise<void> {
    await conditional(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: unitPk(unit), sk: sliceSk(vault, seq), slice },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async lockSlice(
    vault: string,
    seq: number,
    unit: number,
    lock: SliceLock,
    now: number,
  ): Promise<Uint8Array | undefined> {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: unitPk(unit), sk: sliceSk(vault, seq) },
          UpdateExpression: 'SET #owner = :owner, #token = :token, #lease = :lease',
          // Present; free or its lease over; and no newer token ever took it.
          ConditionExpression:
            'attribute_exists(slice) AND (attribute_not_exists(#owner) OR #lease < :now) AND (attribute_not_exists(#token) OR #token < :token)',
          ExpressionAttributeNames: {
            '#owner': 'owner',
            '#token': 'token',
            '#lease': 'leaseUntil',
          },
          ExpressionAttributeValues: {
            ':owner': lock.owner,
            ':token': lock.token,
            ':lease': lock.leaseUntil,
            ':now': now,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const slice = out.Attributes?.slice as Uint8Array | undefined;
      return slice && Uint8Array.from(slice);
    } catch (err) {
      if (conditionFailed(err)) return undefined;
      throw err;
    }
  }

  renewSlice(
    vault: string,
    seq: number,
    unit: number,
    token: number,
    leaseUntil: number,
  ): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: unitPk(unit), sk: sliceSk(vault, seq) },
          UpdateExpression: 'SET #lease = :lease',
          ConditionExpression: '#token = :token AND attribute_exists(#owner)',
          ExpressionAttributeNames: {
            '#owner': 'owner',
            '#token': 'token',
            '#lease': 'leaseUntil',
          },
          ExpressionAttributeValues: { ':token': token, ':lease': leaseUntil },
        }),
      ),
    );
  }

  releaseSlice(vault: string, seq: number, unit: number, token: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: unitPk(unit), sk: sliceSk(vault, seq) },
          // The token stays: no older claim may lock the slice after this one let it go.
          UpdateExpression: 'REMOVE #owner, #lease',
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: {
            '#owner': 'owner',
            '#token': 'token',
            '#lease': 'leaseUntil',
          },
          ExpressionAttributeValues: { ':token': token },
        }),
      ),
    );
  }

  deleteSlice(vault: string, seq: number, unit: number, token: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: unitPk(unit), sk: sliceSk(vault, seq) },
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':token': token },
        }),
      ),
    );
  }

  async sliceState(vault: string, seq: number, unit: number): Promise<FunctionSliceState> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: unitPk(unit), sk: sliceSk(vault, seq) },
        ConsistentRead: true,
        ProjectionExpression: 'pk, #owner, #token, #lease',
        ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token', '#lease': 'leaseUntil' },
      }),
    );
    const item = out.Item;
    if (!item) return { unit, present: false, locked: false };
    return {
      unit,
      present: true,
      locked: item.owner !== undefined,
      ...(item.owner !== undefined ? { owner: item.owner as string } : {}),
      ...(item.token !== undefined ? { token: Number(item.token) } : {}),
      ...(item.leaseUntil !== undefined ? { leaseUntil: Number(item.leaseUntil) } : {}),
    };
  }
}

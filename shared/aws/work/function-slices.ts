/**
 * The work store's function slices on its DynamoDB table (work-store.ts holds the catalog
 * beside them): item `pk = unit/<u>`, `sk = <vault>/<seq>` holds that unit's slice of the item
 * with its lock (`owner`, `token`, `leaseUntil`), so a lock-read-delete is one conditional
 * UpdateItem that returns the slice (`ReturnValues: ALL_NEW`). Its conditions are written
 * without parenthesised groups, as work-store.ts's CONDITIONS says why.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type FunctionSliceState,
  holdsLock,
  type SliceLock,
  type SliceRef,
} from '../../work/index.ts';
import { batchWriteAll } from '../batch-write.ts';
import { conditional, conditionFailed } from '../conditional.ts';

const unitPk = (unit: number) => `unit/${unit}`;
const sliceSk = (vault: string, seq: number) => `${vault}/${String(seq).padStart(12, '0')}`;
/** Requests in one BatchWriteItem, DynamoDB's limit. */
const BATCH = 25;

/** Per unit, each item's function slice and its lock. */
export class DynamoFunctionSlices {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async putSlice(
    vault: string,
    seq: number,
    unit: number,
    slice: Uint8Array,
    storedAt?: number,
  ): Promise<void> {
    await conditional(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: unitPk(unit),
            sk: sliceSk(vault, seq),
            slice,
            ...(storedAt === undefined ? {} : { storedAt }),
          },
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
          // Present; free or its lease over (a slice has a lease exactly while it has an
          // owner: lock sets both, release removes both, renew needs the owner); and no token as
          // high ever took it. Without parentheses: see `CONDITIONS`.
          ConditionExpression:
            'attribute_exists(slice) AND NOT #lease >= :now AND NOT #token >= :token',
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
      if (!conditionFailed(err)) throw err;
      // Refused, maybe by this very lock, applied before its answer was lost.
      const found = await this.db.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: unitPk(unit), sk: sliceSk(vault, seq) },
          ConsistentRead: true,
        }),
      );
      const slice = found.Item?.slice as Uint8Array | undefined;
      return slice && holdsLock(found.Item ?? {}, lock) ? Uint8Array.from(slice) : undefined;
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

  async dropSlices(slices: readonly SliceRef[]): Promise<void> {
    const keys = slices.map((r) => ({ pk: unitPk(r.unit), sk: sliceSk(r.vault, r.seq) }));
    const batches = Array.from({ length: Math.ceil(keys.length / BATCH) }, (_, i) =>
      keys.slice(i * BATCH, (i + 1) * BATCH),
    );
    const failures: unknown[] = [];
    for (const batch of batches) {
      try {
        await this.deleteAll(batch);
      } catch (err) {
        // One unit down fails a whole batch: each unit's share again on its own, so the units
        // that answer still lose their slices.
        const byUnit = Map.groupBy(batch, (key) => key.pk);
        const again = await Promise.allSettled(
          [...byUnit.values()].map((unitKeys) => this.deleteAll(unitKeys)),
        );
        for (const a of again) if (a.status === 'rejected') failures.push(a.reason);
        if (again.length === 1 && failures.length === 0) failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  }

  /** Deletes `keys` (at most 25) in one batch, resending what DynamoDB left unprocessed. */
  private deleteAll(keys: ReadonlyArray<{ pk: string; sk: string }>): Promise<void> {
    return batchWriteAll(
      this.db,
      this.table,
      keys.map((Key) => ({ DeleteRequest: { Key } })),
    );
  }

  async listSlices(
    vault: string,
    unit: number,
    opts: { afterSeq?: number; limit: number },
  ): Promise<{ seqs: number[]; cursor?: number }> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': unitPk(unit),
          ':from': sliceSk(vault, (opts.afterSeq ?? 0) + 1),
          ':to': `${vault}/~`,
        },
        ProjectionExpression: 'sk',
        Limit: opts.limit,
      }),
    );
    const seqs = (out.Items ?? []).map((item) => Number(String(item.sk).slice(vault.length + 1)));
    return out.LastEvaluatedKey === undefined ? { seqs } : { seqs, cursor: seqs.at(-1) };
  }

  async sliceState(vault: string, seq: number, unit: number): Promise<FunctionSliceState> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: unitPk(unit), sk: sliceSk(vault, seq) },
        ConsistentRead: true,
        ProjectionExpression: 'pk, #owner, #token, #lease, storedAt',
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
      ...(item.storedAt !== undefined ? { storedAt: Number(item.storedAt) } : {}),
    };
  }
}

/**
 * WorkStore on one DynamoDB table, partitioned by unit: the units' function slices with their
 * locks (function-slices.ts, `pk = unit/<u>`). The vault's catalog lives beside them:
 * `pk = vault/<vault>` with `sk = item/<seq>` per record (whose `token` is the item's fencing-token counter) and
 * `sk = seq` for the sequence counter. A record carries `openVault` while it is queued or
 * running: the sparse index `open` (`openVault`, `seq`) holds only open items, so finding the
 * next item reads none of the finished history.
 */

import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  beforeReservation,
  type FunctionSliceState,
  holdsChange,
  holdsReservation,
  type RecordChange,
  type RecordCondition,
  type Reservation,
  type SliceLock,
  type SliceRef,
  type WorkRecord,
  type WorkState,
  type WorkStore,
} from '../../work/index.ts';
import { conditional, conditionFailed } from '../conditional.ts';
import { DynamoFunctionSlices } from './function-slices.ts';

const pad = (seq: number) => String(seq).padStart(12, '0');
const vaultPk = (vault: string) => `vault/${vault}`;
const itemSk = (seq: number) => `item/${pad(seq)}`;

/** Records a listing call reads at most, whatever its filter keeps. */
const READ_LIMIT = 1000;
/** The sparse index of open items, and the states it holds. */
const OPEN_INDEX = 'open';
const OPEN: readonly WorkState[] = ['queued', 'running'];
/*
 * CONDITIONS. The conditions of the hot path (reserve, lock, outcome) are written without
 * parenthesised groups: `NOT x >= :y` for `(attribute_not_exists(x) OR x < :y)`, which means the
 * same to DynamoDB (a comparison with a missing attribute is false; the port contracts check
 * both forms' cases on dynalite and DynamoDB Local). dynalite's expression parser backtracks on
 * every parenthesised group (about half a millisecond of CPU each, in the process that runs it,
 * against some 50 us for the whole condition without them): the lock's two groups, six times an
 * item, were the largest single cost of a work item on the local cloud (`npm run bench:work`).
 */

function toRecord(item: Record<string, unknown>): WorkRecord {
  const { pk: _pk, sk: _sk, openVault: _open, ...record } = item;
  return record as unknown as WorkRecord;
}

export class DynamoWorkStore implements WorkStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  /** The units' function slices, on the same table. */
  private readonly slices: DynamoFunctionSlices;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
    this.slices = new DynamoFunctionSlices(db, table);
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

  async reserve(
    vault: string,
    seq: number,
    reservation: Reservation,
    now: number,
  ): Promise<WorkRecord | undefined> {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: vaultPk(vault), sk: itemSk(seq) },
          UpdateExpression:
            'ADD #token :one, #attempts :one SET #state = :running, #owner = :owner, #lease = :lease, #started = :started, #open = :vault REMOVE #reason',
          // Open; nobody holds it (or the holder's lease is over); its backoff is over. `NOT x
          // >= y` is `attribute_not_exists(x) OR x < y` (a comparison with a missing attribute
          // is false), written without parentheses: see `CONDITIONS`.
          ConditionExpression:
            '#state IN (:queued, :running) AND NOT #lease >= :now AND NOT #nb > :now',
          ExpressionAttributeNames: {
            '#token': 'token',
            '#owner': 'owner',
            '#lease': 'leaseUntil',
            '#state': 'state',
            '#nb': 'notBefore',
            '#attempts': 'attempts',
            '#started': 'startedAt',
            '#open': 'openVault',
            '#reason': 'reason',
          },
          ExpressionAttributeValues: {
            ':one': 1,
            ':owner': reservation.owner,
            ':lease': reservation.leaseUntil,
            ':started': reservation.startedAt,
            ':vault': vault,
            ':queued': 'queued',
            ':running': 'running',
            ':now': now,
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return out.Attributes ? toRecord(out.Attributes) : undefined;
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      // Refused, maybe by this very reservation, applied before its answer was lost.
      const found = await this.get(vault, seq);
      return found && holdsReservation(found, reservation) ? beforeReservation(found) : undefined;
    }
  }

  async create(record: WorkRecord): Promise<void> {
    // Create only: a redo of the same add finds its record and leaves it as it is.
    await conditional(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...record,
            pk: vaultPk(record.vault),
            sk: itemSk(record.seq),
            ...(OPEN.includes(record.state) ? { openVault: record.vault } : {}),
          },
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
    // Open states only: the sparse index, which holds no finished item. It is read eventually
    // consistent (an index cannot be read otherwise): an item just finished may still show,
    // and its reservation is then refused.
    const open = states.length > 0 && states.every((s) => OPEN.includes(s));
    const filtered = states.length > 0 && !(open && states.length === OPEN.length);
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        ...(open
          ? {
              IndexName: OPEN_INDEX,
              KeyConditionExpression: 'openVault = :vault AND seq > :after',
            }
          : {
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
              ConsistentRead: true,
            }),
        ExpressionAttributeValues: {
          ...(open
            ? { ':vault': vault, ':after': opts.afterSeq ?? 0 }
            : {
                ':pk': vaultPk(vault),
                ':from': itemSk((opts.afterSeq ?? 0) + 1),
                ':to': 'item/~',
              }),
          ...(filtered ? Object.fromEntries(states.map((s, i) => [`:s${i}`, s])) : {}),
        },
        ...(filtered
          ? {
              FilterExpression: `#state IN (${states.map((_, i) => `:s${i}`).join(', ')})`,
              ExpressionAttributeNames: { '#state': 'state' },
            }
          : {}),
        // Without a filter, one more than asked tells whether more follow.
        Limit: filtered ? READ_LIMIT : Math.min(READ_LIMIT, opts.limit + 1),
      }),
    );
    const read = (out.Items ?? []).map(toRecord);
    const items = read.slice(0, opts.limit);
    if (read.length > opts.limit) return { items, cursor: items.at(-1)?.seq };
    const last = out.LastEvaluatedKey;
    if (last === undefined) return { items };
    return {
      items,
      cursor: open ? Number(last.seq) : Number(String(last.sk).slice('item/'.length)),
    };
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
    // In the index of open items exactly while open.
    if (change.state !== undefined) {
      names['#open'] = 'openVault';
      if (OPEN.includes(change.state)) {
        values[':open'] = vault;
        sets.push('#open = :open');
      } else removes.push('#open');
    }
    const conditions: string[] = [];
    if (when.states) {
      names['#state'] = 'state';
      when.states.forEach((s, i) => {
        values[`:w${i}`] = s;
      });
      conditions.push(
        when.states.length === 1
          ? '#state = :w0'
          : `#state IN (${when.states.map((_, i) => `:w${i}`).join(', ')})`,
      );
    }
    if (when.token !== undefined) {
      names['#token'] = 'token';
      values[':token'] = when.token;
      conditions.push('#token = :token');
    }
    // A comparison fails on a missing record already; alone, the record must exist.
    if (conditions.length === 0) conditions.push('attribute_exists(pk)');
    const update = [
      sets.length > 0 ? `SET ${sets.join(', ')}` : '',
      removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    const applied = await conditional(
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
    if (applied) return true;
    // Refused, maybe by this very change, applied before its answer was lost.
    const found = await this.get(vault, seq);
    return found !== undefined && holdsChange(found, change, when);
  }

  putSlice(
    vault: string,
    seq: number,
    unit: number,
    slice: Uint8Array,
    storedAt?: number,
  ): Promise<void> {
    return this.slices.putSlice(vault, seq, unit, slice, storedAt);
  }

  lockSlice(
    vault: string,
    seq: number,
    unit: number,
    lock: SliceLock,
    now: number,
  ): Promise<Uint8Array | undefined> {
    return this.slices.lockSlice(vault, seq, unit, lock, now);
  }

  renewSlice(
    vault: string,
    seq: number,
    unit: number,
    token: number,
    leaseUntil: number,
  ): Promise<boolean> {
    return this.slices.renewSlice(vault, seq, unit, token, leaseUntil);
  }

  releaseSlice(vault: string, seq: number, unit: number, token: number): Promise<boolean> {
    return this.slices.releaseSlice(vault, seq, unit, token);
  }

  dropSlices(slices: readonly SliceRef[]): Promise<void> {
    return this.slices.dropSlices(slices);
  }

  listSlices(
    vault: string,
    unit: number,
    opts: { afterSeq?: number; limit: number },
  ): Promise<{ seqs: number[]; cursor?: number }> {
    return this.slices.listSlices(vault, unit, opts);
  }

  sliceState(vault: string, seq: number, unit: number): Promise<FunctionSliceState> {
    return this.slices.sliceState(vault, seq, unit);
  }
}

/**
 * The initiator structure and the listener records on the listeners table (`pk`, `sk`):
 * - initiator entry `initiator#<node>#<vault>` / `~<path>`: one attribute `l_<id>` per listener
 *   the node serves there (top-level attributes, so adding one is a single SET with no map to
 *   create first);
 * - listener `listener#<vault>` / `<id>`: the listener, its delivery counts, and a `ttl` for a
 *   temporary one;
 * - temporary listener `temporary` / `<vault>#<id>`: a copy of each temporary listener, for the
 *   sweep to find the expired ones of every vault in one query. It has no `ttl`: should the
 *   sweep stop for longer than the records' TTL, it still finds each one when it runs again,
 *   and uncounts its node (which DynamoDB's TTL would not);
 * - node load `nodes` / `<node>`: the listeners the node serves (`members`, a string set of
 *   `<vault>#<id>`) and their number (`served`), changed together in one conditional update
 *   on whether the listener is a member, so a create or a delete repeated counts once (loads
 *   read `served` alone). The `listeners` number an earlier version kept by increments, which
 *   a repeat or a crash could skew, is no longer read: listeners created before it are not
 *   counted, and leave no count behind;
 * - dead letter `dead#<vault>#<id>` / `<event id>`: an event given up on, kept 14 days.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type DeliveryStats,
  expired,
  type InitiatorStore,
  type Listener,
  type ListenerStore,
  NodeFullError,
} from '../../listeners/index.ts';
import { conditional, itemTooLarge } from '../conditional.ts';
import { batchGet } from './batch-get.ts';

const DEAD_LETTER_SECONDS = 14 * 24 * 3600;
/**
 * DynamoDB's TTL removes a temporary listener's record this long after it expired: a backstop.
 * The sweep normally removes it within minutes, uncounting the node, which the TTL would not;
 * the sweep's copy has no TTL, so a sweep that stopped for longer still does when it resumes.
 */
const TTL_GRACE_SECONDS = 24 * 3600;
const ATTRIBUTE = 'l_';

const initiatorKey = (node: number, vault: string, path: string) => ({
  pk: `initiator#${node}#${vault}`,
  sk: `~${path}`,
});
const listenerKey = (vault: string, id: string) => ({ pk: `listener#${vault}`, sk: id });
const temporaryKey = (vault: string, id: string) => ({ pk: 'temporary', sk: `${vault}#${id}` });
const nodeKey = (node: number) => ({ pk: 'nodes', sk: String(node).padStart(4, '0') });
const memberOf = (l: Pick<Listener, 'vault' | 'id'>) => `${l.vault}#${l.id}`;

export class DynamoInitiators implements InitiatorStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async read(node: number, vault: string, paths: string[]): Promise<Map<string, Listener[]>> {
    const unique = [...new Set(paths)];
    const found = new Map<string, Listener[]>(unique.map((p) => [p, []]));
    const items = await batchGet(
      this.db,
      this.table,
      unique.map((p) => initiatorKey(node, vault, p)),
    );
    for (const item of items) {
      const listeners = Object.entries(item)
        .filter(([name]) => name.startsWith(ATTRIBUTE))
        .map(([, value]) => value as Listener)
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      found.set(String(item.sk).slice(1), listeners);
    }
    return found;
  }

  async add(listener: Listener): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: initiatorKey(listener.node, listener.vault, listener.path),
          UpdateExpression: 'SET #listener = :listener',
          ExpressionAttributeNames: { '#listener': `${ATTRIBUTE}${listener.id}` },
          ExpressionAttributeValues: { ':listener': listener },
        }),
      )
      .catch((err: unknown) => {
        if (!itemTooLarge(err)) throw err;
        throw new NodeFullError(listener.node, `on path "${listener.path}"`, { cause: err });
      });
  }

  async remove(listener: Pick<Listener, 'node' | 'vault' | 'path' | 'id'>): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: initiatorKey(listener.node, listener.vault, listener.path),
        UpdateExpression: 'REMOVE #listener',
        ExpressionAttributeNames: { '#listener': `${ATTRIBUTE}${listener.id}` },
      }),
    );
  }
}

export class DynamoListenerStore implements ListenerStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly now: () => number;

  constructor(db: DynamoDBDocumentClient, table: string, now: () => number) {
    this.db = db;
    this.table = table;
    this.now = now;
  }

  async create(listener: Listener): Promise<void> {
    // The sweep's copy first: a create that dies halfway leaves the sweep something to remove.
    if (listener.expiresAt !== undefined) await this.putTemporary(listener);
    await conditional(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...listenerKey(listener.vault, listener.id),
            listener,
            delivered: 0,
            failed: 0,
            ...(listener.expiresAt === undefined
              ? {}
              : { ttl: listener.expiresAt + TTL_GRACE_SECONDS }),
          },
          // A retried create leaves the first one's record and counts.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    // Counted whether this call or an earlier one stored the record (one that died before it
    // counted): membership makes the count once.
    await this.serves(listener, true);
  }

  async makePermanent(vault: string, id: string): Promise<Listener | undefined> {
    let made: Listener | undefined;
    await conditional(
      this.db
        .send(
          new UpdateCommand({
            TableName: this.table,
            Key: listenerKey(vault, id),
            UpdateExpression: 'REMOVE #listener.expiresAt, #ttl',
            // Still live: temporary and not expired, or permanent already (a repeat).
            ConditionExpression:
              'attribute_exists(pk) AND (attribute_not_exists(#listener.expiresAt) OR #listener.expiresAt > :now)',
            ExpressionAttributeNames: { '#listener': 'listener', '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':now': Math.floor(this.now() / 1000) },
            ReturnValues: 'ALL_NEW',
          }),
        )
        .then((out) => {
          made = out.Attributes?.listener as Listener | undefined;
        }),
    );
    // The sweep's copy last: a make that dies before leaves the sweep to find it made.
    if (made)
      await this.db.send(
        new DeleteCommand({ TableName: this.table, Key: temporaryKey(vault, id) }),
      );
    return made;
  }

  private async putTemporary(listener: Listener): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...temporaryKey(listener.vault, listener.id), listener },
      }),
    );
  }

  async renew(vault: string, id: string, expiresAt: number): Promise<Listener | undefined> {
    let renewed: Listener | undefined;
    await conditional(
      this.db
        .send(
          new UpdateCommand({
            TableName: this.table,
            Key: listenerKey(vault, id),
            UpdateExpression: 'SET #listener.expiresAt = :at, #ttl = :ttl',
            // Temporary, and not expired yet: an expired listener stays expired.
            ConditionExpression: '#listener.expiresAt > :now',
            ExpressionAttributeNames: { '#listener': 'listener', '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':at': expiresAt,
              ':ttl': expiresAt + TTL_GRACE_SECONDS,
              ':now': Math.floor(this.now() / 1000),
            },
            ReturnValues: 'ALL_NEW',
          }),
        )
        .then((out) => {
          renewed = out.Attributes?.listener as Listener | undefined;
        }),
    );
    if (renewed?.expiresAt !== undefined) await this.putTemporary(renewed);
    return renewed;
  }

  async expiredTemporary(now: number): Promise<Listener[]> {
    const found: Listener[] = [];
    const pages = paginateQuery(
      { client: this.db },
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'temporary' },
        ConsistentRead: true,
      },
    );
    for await (const page of pages)
      for (const item of page.Items ?? []) {
        const listener = item.listener as Listener;
        if (expired(listener, now)) found.push(listener);
      }
    return found;
  }

  /**
   * Counts `listener` on its node (`serving`), or uncounts it, unless it already is (is not) a
   * member: the set and the number change in one conditional update, so a repeat changes
   * neither.
   */
  private async serves(
    listener: Pick<Listener, 'vault' | 'id' | 'node'>,
    serving: boolean,
  ): Promise<void> {
    const member = memberOf(listener);
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: nodeKey(listener.node),
          UpdateExpression: serving
            ? 'ADD #members :members, #served :one'
            : 'DELETE #members :members ADD #served :minus',
          ConditionExpression: serving
            ? 'NOT contains(#members, :member)'
            : 'contains(#members, :member)',
          ExpressionAttributeNames: { '#members': 'members', '#served': 'served' },
          ExpressionAttributeValues: {
            ':members': new Set([member]),
            ':member': member,
            ...(serving ? { ':one': 1 } : { ':minus': -1 }),
          },
        }),
      ),
    ).catch((err: unknown) => {
      if (!itemTooLarge(err)) throw err;
      throw new NodeFullError(listener.node, 'at all', { cause: err });
    });
  }

  async get(vault: string, id: string): Promise<(Listener & DeliveryStats) | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: listenerKey(vault, id), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const listener = out.Item.listener as Listener;
    // DynamoDB removes expired items within days, not at once.
    if (expired(listener, this.now())) return undefined;
    return {
      ...listener,
      delivered: Number(out.Item.delivered ?? 0),
      failed: Number(out.Item.failed ?? 0),
      ...(out.Item.lastError === undefined ? {} : { lastError: String(out.Item.lastError) }),
      ...(out.Item.lastDeliveredAt === undefined
        ? {}
        : { lastDeliveredAt: String(out.Item.lastDeliveredAt) }),
    };
  }

  async list(vault: string): Promise<Listener[]> {
    const found: Listener[] = [];
    const pages = paginateQuery(
      { client: this.db },
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `listener#${vault}` },
        ProjectionExpression: 'listener',
        ConsistentRead: true,
      },
    );
    const now = this.now();
    for await (const page of pages)
      for (const item of page.Items ?? []) {
        const listener = item.listener as Listener;
        if (!expired(listener, now)) found.push(listener);
      }
    return found;
  }

  async delete(listener: Pick<Listener, 'vault' | 'id' | 'node'>): Promise<boolean> {
    const { vault, id } = listener;
    // Uncounted first: a delete that dies before its record goes is repeated (the record, or
    // the sweep's copy, is still there to be found), and uncounts nothing twice.
    await this.serves(listener, false);
    const out = await this.db.send(
      new DeleteCommand({
        TableName: this.table,
        Key: listenerKey(vault, id),
        ReturnValues: 'ALL_OLD',
      }),
    );
    // The sweep's copy last: a delete that dies halfway leaves the sweep something to finish.
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: temporaryKey(vault, id) }));
    return out.Attributes !== undefined;
  }

  async nodeLoads(count: number): Promise<number[]> {
    // The number only; the member sets still count, whole, towards a page's 1 MB, so a vault
    // of many listeners is read in pages.
    const pages = paginateQuery(
      { client: this.db },
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'nodes' },
        ProjectionExpression: 'sk, served',
        ConsistentRead: true,
      },
    );
    const loads = new Array<number>(count).fill(0);
    for await (const page of pages)
      for (const item of page.Items ?? []) {
        const node = Number(item.sk);
        if (node < count) loads[node] = Number(item.served ?? 0);
      }
    return loads;
  }

  async delivered(vault: string, id: string, at: Date): Promise<void> {
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: listenerKey(vault, id),
          UpdateExpression: 'ADD delivered :one SET lastDeliveredAt = :at',
          // A listener deleted meanwhile stays deleted.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': 1, ':at': at.toISOString() },
        }),
      ),
    );
  }

  async failed(vault: string, id: string, error: string, document: unknown): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `dead#${vault}#${id}`,
          sk: String((document as { id?: unknown }).id ?? this.now()),
          document,
          error,
          ttl: Math.ceil(this.now() / 1000) + DEAD_LETTER_SECONDS,
        },
      }),
    );
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: listenerKey(vault, id),
          UpdateExpression: 'ADD failed :one SET lastError = :error',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': 1, ':error': error.slice(0, 1000) },
        }),
      ),
    );
  }
}

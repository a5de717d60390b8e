/**
 * ObjectIndex on DynamoDB: partition = vault, sort key = object key, so a listing is a Query
 * (prefix = `begins_with`), never a bucket scan. A delete writes a tombstone carrying its own
 * revision id, so an older revision that commits late cannot bring a deleted key back.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  decodeListingCursor,
  encodeListingCursor,
  type IndexEntry,
  type ObjectAttributes,
  type ObjectIndex,
  type Precondition,
  type ScanState,
} from '../../store/index.ts';
import { conditional } from '../conditional.ts';

/** An index item as the domain reads it (exported so test fakes read items alike). */
export function toEntry(item: Record<string, unknown>): IndexEntry {
  return {
    vault: String(item.vault),
    key: String(item.key),
    revision: String(item.revision),
    objectId: String(item.objectId),
    size: Number(item.size),
    sha256: String(item.sha256),
    segments: Number(item.segments),
    segmentSize: Number(item.segmentSize),
    readThreshold: Number(item.readThreshold),
    units: (item.units as unknown[]).map(Number),
    ...(item.topology === undefined ? {} : { topology: String(item.topology) }),
    committedAt: String(item.committedAt),
    ...(item.attributes === undefined ? {} : { attributes: item.attributes as ObjectAttributes }),
    // Present only when stored, so entries written before scanning compare as they did.
    ...(item.writer === undefined ? {} : { writer: String(item.writer) }),
    ...(item.scanState === undefined ? {} : { scanState: String(item.scanState) as ScanState }),
    ...(item.scanDetail === undefined ? {} : { scanDetail: String(item.scanDetail) }),
  };
}

/**
 * The condition a precondition adds to a publish, over the item as it is before the write: the
 * one conditional write both checks it and makes the revision visible.
 */
function preconditionExpression(p: Precondition): {
  expression: string;
  values: Record<string, unknown>;
} {
  if ('ifNoneMatch' in p)
    return {
      expression: 'attribute_not_exists(#key) OR deleted = :true',
      values: { ':true': true },
    };
  if (p.ifMatch === '*')
    return {
      expression: 'attribute_exists(#key) AND deleted = :false',
      values: { ':false': false },
    };
  return {
    expression: 'attribute_exists(#key) AND deleted = :false AND sha256 = :etag',
    values: { ':false': false, ':etag': p.ifMatch },
  };
}

// The same revision again is a redelivered task: it succeeds and changes nothing.
const NEWER_WINS = 'attribute_not_exists(#key) OR revision <= :revision';

/** Items one listing call reads at most, tombstones included (each costs read capacity). */
export const MAX_LISTING_READS = 1000;

/** Items a listing Query asks for at least. */
const CHUNK = 100;

export class DynamoObjectIndex implements ObjectIndex {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  private async putIfNewer(item: Record<string, unknown>, precondition?: Precondition) {
    const p = precondition ? preconditionExpression(precondition) : undefined;
    try {
      const out = await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          // With a precondition: the same revision again (a redelivered task) still succeeds,
          // though the key now holds it; otherwise newer wins and the precondition must hold.
          ConditionExpression: p
            ? `(attribute_exists(#key) AND revision = :revision) OR ((${NEWER_WINS}) AND (${p.expression}))`
            : NEWER_WINS,
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':revision': item.revision, ...p?.values },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { old: out.Attributes, stale: false };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return { old: undefined, stale: true };
      throw err;
    }
  }

  async publish(
    entry: IndexEntry,
    precondition?: Precondition,
  ): Promise<{ replaced?: string; stale: boolean; refused?: boolean }> {
    const { old, stale } = await this.putIfNewer({ ...entry, deleted: false }, precondition);
    // A conditional write that lost, to a newer revision or to its precondition, was refused:
    // either way the object changed from what the writer was told.
    if (stale && precondition) return { stale: false, refused: true };
    return { replaced: old && old.deleted !== true ? String(old.revision) : undefined, stale };
  }

  async get(vault: string, key: string): Promise<IndexEntry | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { vault, key }, ConsistentRead: true }),
    );
    return out.Item && out.Item.deleted !== true ? toEntry(out.Item) : undefined;
  }

  async newest(
    vault: string,
    key: string,
  ): Promise<{ revision: string; deleted: boolean } | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { vault, key },
        ConsistentRead: true,
        ProjectionExpression: 'revision, deleted',
      }),
    );
    return out.Item && { revision: String(out.Item.revision), deleted: out.Item.deleted === true };
  }

  async setScanState(
    vault: string,
    key: string,
    revision: string,
    state: ScanState,
    detail?: string,
  ): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { vault, key },
          UpdateExpression: detail
            ? 'SET scanState = :state, scanDetail = :detail'
            : 'SET scanState = :state REMOVE scanDetail',
          // A newer revision or a delete owns the entry now: its own scan decides its state.
          ConditionExpression: 'revision = :revision AND deleted = :false',
          ExpressionAttributeValues: {
            ':state': state,
            ':revision': revision,
            ':false': false,
            ...(detail ? { ':detail': detail } : {}),
          },
        }),
      ),
    );
  }

  async remove(
    vault: string,
    key: string,
    revision: string,
    keepUntil: number,
  ): Promise<IndexEntry | undefined> {
    try {
      const out = await this.db.send(
        new PutCommand({
          TableName: this.table,
          // DynamoDB deletes the tombstone once `ttl` (epoch seconds) has passed.
          Item: { vault, key, revision, deleted: true, ttl: Math.ceil(keepUntil / 1000) },
          // Only a live entry older than the delete gives way: a key that holds nothing (never
          // written, or deleted already) gets no tombstone, so none pile up.
          ConditionExpression:
            'attribute_exists(#key) AND deleted = :false AND revision < :revision',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':revision': revision, ':false': false },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return out.Attributes ? toEntry(out.Attributes) : undefined;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
  }

  async list(
    vault: string,
    prefix: string,
    limit: number,
    cursor?: string,
  ): Promise<{ entries: IndexEntry[]; cursor?: string }> {
    let start: Record<string, unknown> | undefined;
    if (cursor) start = { vault, key: decodeListingCursor(cursor, prefix) };
    const entries: IndexEntry[] = [];
    // Tombstones are filtered after DynamoDB's Limit, so a page can come back short: keep going,
    // but read at most MAX_LISTING_READS items in one call. A stretch of tombstones then ends
    // the page early, with a cursor past them.
    let reads = 0;
    let lastRead: string | undefined;
    let full = false;
    while (!full && reads < MAX_LISTING_READS) {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: prefix
            ? 'vault = :vault AND begins_with(#key, :prefix)'
            : 'vault = :vault',
          FilterExpression: 'deleted = :false',
          ExpressionAttributeNames: prefix ? { '#key': 'key' } : undefined,
          ExpressionAttributeValues: {
            ':vault': vault,
            ':false': false,
            ...(prefix ? { ':prefix': prefix } : {}),
          },
          ExclusiveStartKey: start,
          // Whole chunks, so a run of tombstones costs few round trips; extra entries are
          // dropped and read again by the next page.
          Limit: Math.min(MAX_LISTING_READS - reads, Math.max(limit - entries.length, CHUNK)),
          ConsistentRead: true,
        }),
      );
      reads += out.ScannedCount ?? 0;
      const items = out.Items ?? [];
      start = out.LastEvaluatedKey;
      for (const item of items) {
        if (entries.length === limit) {
          full = true;
          break;
        }
        entries.push(toEntry(item));
      }
      if (!full && entries.length === limit && start !== undefined) full = true;
      if (!start) break;
      lastRead = String(start.key);
    }
    // The next page starts after the last entry given, or after the last item read when the
    // read budget ran out first; a page that reached its limit always carries a cursor.
    const after = full ? entries.at(-1)?.key : start !== undefined ? lastRead : undefined;
    return {
      entries,
      cursor: after !== undefined ? encodeListingCursor(after) : undefined,
    };
  }
}

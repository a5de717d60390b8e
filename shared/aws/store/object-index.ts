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
} from '@aws-sdk/lib-dynamodb';
import { InvalidParameterError } from '../../errors.ts';
import type { IndexEntry, ObjectIndex } from '../../store/index.ts';

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
    committedAt: String(item.committedAt),
  };
}

// The same revision again is a redelivered task: it succeeds and changes nothing.
const NEWER_WINS = 'attribute_not_exists(#key) OR revision <= :revision';

export class DynamoObjectIndex implements ObjectIndex {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  private async putIfNewer(item: Record<string, unknown>) {
    try {
      const out = await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: NEWER_WINS,
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':revision': item.revision },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { old: out.Attributes, stale: false };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return { old: undefined, stale: true };
      throw err;
    }
  }

  async publish(entry: IndexEntry): Promise<{ replaced?: string; stale: boolean }> {
    const { old, stale } = await this.putIfNewer({ ...entry, deleted: false });
    return { replaced: old && old.deleted !== true ? String(old.revision) : undefined, stale };
  }

  async get(vault: string, key: string): Promise<IndexEntry | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { vault, key }, ConsistentRead: true }),
    );
    return out.Item && out.Item.deleted !== true ? toEntry(out.Item) : undefined;
  }

  async remove(vault: string, key: string, revision: string): Promise<IndexEntry | undefined> {
    const { old } = await this.putIfNewer({ vault, key, revision, deleted: true });
    return old && old.deleted !== true ? toEntry(old) : undefined;
  }

  async list(
    vault: string,
    prefix: string,
    limit: number,
    cursor?: string,
  ): Promise<{ entries: IndexEntry[]; cursor?: string }> {
    let start: Record<string, unknown> | undefined;
    if (cursor) {
      let after: unknown;
      try {
        after = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      } catch {
        after = undefined;
      }
      if (typeof after !== 'string' || !after.startsWith(prefix)) {
        throw new InvalidParameterError('cursor', 'is not a cursor this listing returned');
      }
      start = { vault, key: after };
    }
    const entries: IndexEntry[] = [];
    // Tombstones are filtered after DynamoDB's Limit, so a page can come back short: keep going.
    while (entries.length < limit) {
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
          Limit: limit - entries.length,
          ConsistentRead: true,
        }),
      );
      entries.push(...(out.Items ?? []).map(toEntry));
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
    const last = entries.at(-1);
    const more = start !== undefined && last !== undefined;
    return {
      entries,
      cursor: more ? Buffer.from(JSON.stringify(last.key)).toString('base64url') : undefined,
    };
  }
}

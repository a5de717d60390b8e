/**
 * Read grants in the control table, as `read/<token>` items that DynamoDB drops once their
 * `ttl` has passed (the reader checks `expiresAt` itself: TTL deletion lags).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { GrantedEdge, IndexEntry, ReadGrant, ReadGrantStore } from '../../store/index.ts';

export class DynamoReadGrantStore implements ReadGrantStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async put(grant: ReadGrant): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          id: `read/${grant.token}`,
          entry: grant.entry,
          expiresAt: grant.expiresAt,
          ...(grant.edge ? { edge: grant.edge } : {}),
          ttl: Math.ceil(grant.expiresAt / 1000),
        },
      }),
    );
  }

  async get(token: string): Promise<ReadGrant | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { id: `read/${token}` }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const entry = out.Item.entry as IndexEntry;
    const edge = out.Item.edge as GrantedEdge | undefined;
    return {
      token,
      entry: { ...entry, units: entry.units.map(Number) },
      expiresAt: Number(out.Item.expiresAt),
      ...(edge
        ? {
            edge: {
              revision: edge.revision,
              segments: edge.segments.map((pillars) =>
                pillars.map((p) => ({
                  pillar: Number(p.pillar),
                  unit: Number(p.unit),
                  key: p.key,
                })),
              ),
            },
          }
        : {}),
    };
  }
}

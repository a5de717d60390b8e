/**
 * The participant structure and the per-key sequence on the participants table (`pk`, `sk`):
 * entry `participant#<vault>` / `~<path>` holds `nodes` (a number set) and `version`; counter
 * `sequence#<vault>` / `~<key>` holds `sequence`. The sort keys carry a `~` because `""`, the
 * whole vault, is a path and DynamoDB refuses empty key values. The counter also holds `sent`,
 * the highest number whose messages are out, for announcements of one key to take turns.
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ParticipantEntry, ParticipantStore, SequenceCounter } from '../../listeners/index.ts';
import { conditional } from '../conditional.ts';
import { batchGet } from './batch-get.ts';

const sequenceKey = (vault: string, key: string) => ({ pk: `sequence#${vault}`, sk: `~${key}` });
const entryKey = (vault: string, path: string) => ({ pk: `participant#${vault}`, sk: `~${path}` });

export class DynamoParticipants implements ParticipantStore, SequenceCounter {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async read(vault: string, paths: string[]): Promise<ParticipantEntry[]> {
    const keys = [...new Set(paths)].map((p) => entryKey(vault, p));
    const found: ParticipantEntry[] = [];
    for (const item of await batchGet(this.db, this.table, keys)) {
      const nodes = [...((item.nodes as Set<number> | undefined) ?? [])].map(Number);
      if (nodes.length === 0) continue;
      found.push({
        path: String(item.sk).slice(1),
        nodes: nodes.sort((a, b) => a - b),
        version: Number(item.version ?? 0),
      });
    }
    return found;
  }

  async join(vault: string, path: string, node: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: entryKey(vault, path),
        UpdateExpression: 'ADD nodes :node, version :one',
        ExpressionAttributeValues: { ':node': new Set([node]), ':one': 1 },
      }),
    );
  }

  async leave(vault: string, path: string, node: number, version: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: entryKey(vault, path),
          UpdateExpression: 'DELETE nodes :node ADD version :one',
          // Unchanged since the caller read it: no listener joined in between.
          ConditionExpression: 'version = :seen',
          ExpressionAttributeValues: { ':node': new Set([node]), ':one': 1, ':seen': version },
        }),
      ),
    );
  }

  async next(vault: string, key: string): Promise<{ sequence: number; sent: number }> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: sequenceKey(vault, key),
        UpdateExpression: 'ADD #sequence :one',
        ExpressionAttributeNames: { '#sequence': 'sequence' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { sequence: Number(out.Attributes?.sequence), sent: Number(out.Attributes?.sent ?? 0) };
  }

  async sent(vault: string, key: string): Promise<number> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: sequenceKey(vault, key),
        ProjectionExpression: 'sent',
        ConsistentRead: true,
      }),
    );
    return Number(out.Item?.sent ?? 0);
  }

  async markSent(vault: string, key: string, sequence: number): Promise<void> {
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: sequenceKey(vault, key),
          UpdateExpression: 'SET sent = :n',
          // Never back: a late announcement that timed out its turn must not undo a later one.
          ConditionExpression: 'attribute_not_exists(sent) OR sent < :n',
          ExpressionAttributeValues: { ':n': sequence },
        }),
      ),
    );
  }
}

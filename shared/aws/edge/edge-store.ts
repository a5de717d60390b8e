/**
 * The edge table: one partition per kind and group (`pk`), one item per group or object
 * (`sk`). Groups under `group`, scores under `score/<group>`, staged objects under
 * `staged/<group>`, the planner's last run under `run`. Values ride as one JSON attribute
 * (`data`): the domain owns their shape, and a staging record's nested lists stay as written.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AccessScore, EdgeGroup, EdgeStore, PlanRun, StagedObject } from '../../edge/index.ts';
import { conditional, ifCondition } from '../conditional.ts';

/** Tries of a score update that keeps meeting a concurrent one. */
const SCORE_ATTEMPTS = 8;

const objectSk = (vault: string, key: string) => `${vault}/${key}`;

export class DynamoEdgeStore implements EdgeStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  private async get<T>(pk: string, sk: string): Promise<T | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }),
    );
    return out.Item ? (JSON.parse(out.Item.data as string) as T) : undefined;
  }

  private async put(
    pk: string,
    sk: string,
    value: unknown,
    extra: Record<string, string> = {},
  ): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk, sk, data: JSON.stringify(value), ...extra },
      }),
    );
  }

  private async query<T>(pk: string): Promise<T[]> {
    const items: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) items.push(JSON.parse(item.data as string) as T);
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  putGroup(group: EdgeGroup): Promise<void> {
    return this.put('group', group.name, group);
  }

  getGroup(name: string): Promise<EdgeGroup | undefined> {
    return this.get('group', name);
  }

  listGroups(): Promise<EdgeGroup[]> {
    return this.query('group');
  }

  async updateScore(
    group: string,
    vault: string,
    key: string,
    next: (previous: { score: number; at: number } | undefined) => { score: number; at: number },
  ): Promise<void> {
    const pk = `score/${group}`;
    const sk = objectSk(vault, key);
    for (let attempt = 1; ; attempt++) {
      const out = await this.db.send(
        new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }),
      );
      const previous = out.Item ? (JSON.parse(out.Item.data as string) as AccessScore) : undefined;
      const value: AccessScore = { group, vault, key, ...next(previous) };
      // Only over what was read: a concurrent flush's counts are never overwritten.
      const written = await ifCondition(
        this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { pk, sk, data: JSON.stringify(value) },
            ...(out.Item
              ? {
                  ConditionExpression: '#data = :previous',
                  ExpressionAttributeNames: { '#data': 'data' },
                  ExpressionAttributeValues: { ':previous': out.Item.data },
                }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        ),
      );
      if (written) return;
      if (attempt >= SCORE_ATTEMPTS)
        throw new Error(`score of ${group} ${sk} still contended after ${attempt} tries`);
    }
  }

  scores(group: string): Promise<AccessScore[]> {
    return this.query(`score/${group}`);
  }

  deleteScore(stored: AccessScore): Promise<boolean> {
    // Only the score as read: the stored JSON is the domain's, so the same value is the same
    // text (a flush since rewrote it, and its counts stay).
    return conditional(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: `score/${stored.group}`, sk: objectSk(stored.vault, stored.key) },
          ConditionExpression: '#data = :stored',
          ExpressionAttributeNames: { '#data': 'data' },
          ExpressionAttributeValues: { ':stored': JSON.stringify(stored) },
        }),
      ),
    );
  }

  putStaged(staged: StagedObject): Promise<void> {
    return this.put(`staged/${staged.group}`, objectSk(staged.vault, staged.key), staged, {
      revision: staged.revision,
    });
  }

  getStaged(group: string, vault: string, key: string): Promise<StagedObject | undefined> {
    return this.get(`staged/${group}`, objectSk(vault, key));
  }

  listStaged(group: string): Promise<StagedObject[]> {
    return this.query(`staged/${group}`);
  }

  async deleteStaged(group: string, vault: string, key: string, revision: string): Promise<void> {
    // Only the revision unstaged: a staging of a newer one done meanwhile stays.
    await ifCondition(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: `staged/${group}`, sk: objectSk(vault, key) },
          ConditionExpression: '#revision = :revision',
          ExpressionAttributeNames: { '#revision': 'revision' },
          ExpressionAttributeValues: { ':revision': revision },
        }),
      ),
    );
  }

  putRun(run: PlanRun): Promise<void> {
    return this.put('run', 'last', run);
  }

  lastRun(): Promise<PlanRun | undefined> {
    return this.get('run', 'last');
  }
}

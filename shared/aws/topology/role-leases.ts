/**
 * RoleLeases on the admin table: item (`role`, <name>) holds the holder, the fencing token and
 * the lease's end. Each change is one conditional write on it; the token is only ever added
 * to, so it grows across holders and releases.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Lease, RoleLeases } from '../../topology/index.ts';
import { conditional, ifCondition } from '../conditional.ts';

const PK = 'role';

function toLease(item: Record<string, unknown>): Lease {
  const n = (v: unknown) => (v === undefined ? undefined : Number(v));
  return {
    role: String(item.sk),
    ...(item.holder === undefined ? {} : { holder: String(item.holder) }),
    token: Number(item.token ?? 0),
    expiresAt: Number(item.expiresAt ?? 0),
    ...(item.acquiredAt === undefined ? {} : { acquiredAt: n(item.acquiredAt) }),
    ...(item.renewedAt === undefined ? {} : { renewedAt: n(item.renewedAt) }),
    ...(item.releasedAt === undefined ? {} : { releasedAt: n(item.releasedAt) }),
  };
}

export class DynamoRoleLeases implements RoleLeases {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async acquire(
    role: string,
    holder: string,
    now: number,
    expiresAt: number,
  ): Promise<Lease | undefined> {
    const out = await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: PK, sk: role },
          UpdateExpression:
            'SET holder = :h, expiresAt = :e, acquiredAt = :now, renewedAt = :now ADD #token :one',
          // Free: never held, released (no holder), or its lease ended.
          ConditionExpression:
            'attribute_not_exists(sk) OR attribute_not_exists(holder) OR expiresAt <= :now',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':h': holder, ':e': expiresAt, ':now': now, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out?.Attributes ? toLease(out.Attributes) : undefined;
  }

  async renew(
    role: string,
    token: number,
    now: number,
    expiresAt: number,
  ): Promise<Lease | undefined> {
    const out = await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: PK, sk: role },
          UpdateExpression: 'SET expiresAt = :e, renewedAt = :now',
          // Still this token's: nobody took it over (the token would have grown) or released it.
          ConditionExpression: '#token = :t AND attribute_exists(holder)',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':t': token, ':e': expiresAt, ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out?.Attributes ? toLease(out.Attributes) : undefined;
  }

  release(role: string, token: number, now: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: PK, sk: role },
          UpdateExpression: 'SET expiresAt = :zero, releasedAt = :now REMOVE holder',
          ConditionExpression: '#token = :t AND attribute_exists(holder)',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':t': token, ':zero': 0, ':now': now },
        }),
      ),
    );
  }

  async get(role: string): Promise<Lease | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: PK, sk: role }, ConsistentRead: true }),
    );
    return out.Item ? toLease(out.Item) : undefined;
  }

  async list(): Promise<Lease[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': PK },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map(toLease);
  }
}

/** Staged uploads' records on AWS: one item each in the control table, and each caller's quota. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DispersalProgress, Upload, UploadState, UploadStore } from '../../store/index.ts';
import { conditional } from '../conditional.ts';

export class DynamoUploadStore implements UploadStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async create(upload: Upload): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        // DynamoDB deletes the record once `ttl` (epoch seconds) has passed.
        Item: {
          id: `upload/${upload.uploadId}`,
          ...upload,
          ttl: Math.ceil(Date.parse(upload.expiresAt) / 1000),
        },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
  }

  async advance(uploadId: string, progress: DispersalProgress): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: `upload/${uploadId}` },
          UpdateExpression: 'SET #progress = :progress',
          ConditionExpression:
            progress.step === 1
              ? '#state = :dispersing AND attribute_not_exists(#progress)'
              : '#state = :dispersing AND #progress.#step = :previous',
          ExpressionAttributeNames: {
            '#state': 'state',
            '#progress': 'progress',
            ...(progress.step === 1 ? {} : { '#step': 'step' }),
          },
          ExpressionAttributeValues: {
            ':progress': progress,
            ':dispersing': 'dispersing',
            ...(progress.step === 1 ? {} : { ':previous': progress.step - 1 }),
          },
        }),
      ),
    );
  }

  async claimRevision(
    uploadId: string,
    revision: string,
    previous: string | undefined,
  ): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: `upload/${uploadId}` },
          UpdateExpression: 'SET #revision = :revision',
          ConditionExpression: `#state = :dispersing AND ${previous === undefined ? 'attribute_not_exists(#revision)' : '#revision = :previous'}`,
          ExpressionAttributeNames: { '#state': 'state', '#revision': 'revision' },
          ExpressionAttributeValues: {
            ':revision': revision,
            ':dispersing': 'dispersing',
            ...(previous === undefined ? {} : { ':previous': previous }),
          },
        }),
      ),
    );
  }

  async markStepQueued(uploadId: string, step: number): Promise<void> {
    // Gone on to a later step, or ended: nothing to mark.
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: `upload/${uploadId}` },
          UpdateExpression: 'SET #progress.#queued = :queued',
          ConditionExpression: '#progress.#step = :step',
          ExpressionAttributeNames: {
            '#progress': 'progress',
            '#queued': 'queued',
            '#step': 'step',
          },
          ExpressionAttributeValues: { ':queued': true, ':step': step },
        }),
      ),
    );
  }

  async markRequeued(
    uploadId: string,
    step: number,
    now: number,
    staleBefore: number,
  ): Promise<boolean> {
    return this.claimWhilePending(uploadId, 'requeued', 'step', step, now, staleBefore);
  }

  async claimFollowUp(
    uploadId: string,
    n: number,
    now: number,
    staleBefore: number,
  ): Promise<boolean> {
    return this.claimWhilePending(uploadId, 'followUp', 'n', n, now, staleBefore);
  }

  /**
   * Sets `mark` (`{[number]: value, at: now}`) on a pending upload unless it holds a later
   * number already, or this one since `staleBefore`: of concurrent claims one applies. A
   * pending upload's requeue step and follow-up numbers only grow.
   */
  private claimWhilePending(
    uploadId: string,
    mark: 'requeued' | 'followUp',
    number: 'step' | 'n',
    value: number,
    now: number,
    staleBefore: number,
  ): Promise<boolean> {
    // A missing mark makes `#mark.#number >= :value` false, so the NOT holds.
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: `upload/${uploadId}` },
          UpdateExpression: 'SET #mark = :claim',
          ConditionExpression:
            '#state = :pending AND (NOT #mark.#number >= :value OR (#mark.#number = :value AND #mark.#at < :stale))',
          ExpressionAttributeNames: {
            '#state': 'state',
            '#mark': mark,
            '#number': number,
            '#at': 'at',
          },
          ExpressionAttributeValues: {
            ':claim': { [number]: value, at: now },
            ':value': value,
            ':pending': 'pending',
            ':stale': staleBefore,
          },
        }),
      ),
    );
  }

  /**
   * A caller's open uploads are one item, `upload/quota/<caller>`, mapping each upload id to its
   * expiry; a version number makes each change conditional on what was read (a few retries
   * settle concurrent opens).
   */
  async admit(
    caller: string,
    uploadId: string,
    expiresAt: number,
    quota: number,
    now: number,
  ): Promise<boolean> {
    const id = `upload/quota/${caller}`;
    for (let attempt = 1; ; attempt++) {
      const out = await this.db.send(
        new GetCommand({ TableName: this.table, Key: { id }, ConsistentRead: true }),
      );
      const open = (out.Item?.open ?? {}) as Record<string, number>;
      const version = out.Item?.version as number | undefined;
      if (open[uploadId] !== undefined) return true;
      const expired = Object.keys(open).filter((u) => (open[u] ?? 0) <= now);
      const live = Object.keys(open).length - expired.length;
      if (live >= quota && expired.length === 0) return false;
      const names: Record<string, string> = { '#open': 'open' };
      const removes = expired.map((u, i) => {
        names[`#x${i}`] = u;
        return `#open.#x${i}`;
      });
      const admitted = live < quota;
      if (admitted && out.Item) names['#new'] = uploadId;
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { id },
            UpdateExpression: [
              `SET version = :next${admitted ? (out.Item ? ', #open.#new = :exp' : ', #open = :first') : ''}`,
              removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
            ].join(' '),
            ConditionExpression:
              version === undefined ? 'attribute_not_exists(id)' : 'version = :version',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ':next': (version ?? 0) + 1,
              ...(version === undefined ? {} : { ':version': version }),
              ...(admitted
                ? out.Item
                  ? { ':exp': expiresAt }
                  : { ':first': { [uploadId]: expiresAt } }
                : {}),
            },
          }),
        );
        return admitted;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException) || attempt >= 8) throw err;
      }
    }
  }

  async release(caller: string, uploadId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: `upload/quota/${caller}` },
          UpdateExpression: 'REMOVE #open.#u',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: { '#open': 'open', '#u': uploadId },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  async get(uploadId: string): Promise<Upload | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { id: `upload/${uploadId}` },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const { id: _id, ttl: _ttl, ...upload } = out.Item;
    return upload as Upload;
  }

  async transition(
    uploadId: string,
    from: UploadState[],
    fields: Partial<Upload>,
  ): Promise<boolean> {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    const names: Record<string, string> = { '#state': 'state' };
    const values: Record<string, unknown> = {};
    from.forEach((s, i) => {
      values[`:from${i}`] = s;
    });
    const sets = entries.map(([k, v], i) => {
      names[`#f${i}`] = k;
      values[`:v${i}`] = v;
      return `#f${i} = :v${i}`;
    });
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: `upload/${uploadId}` },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `#state IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }
}

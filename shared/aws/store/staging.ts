/** Staged uploads on AWS: parts in the staging bucket, records in the control table, a dispersal queue. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  NoSuchUpload,
  PutObjectCommand,
  paginateListObjectsV2,
  paginateListParts,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  DispersalProgress,
  DispersalQueue,
  MultipartPart,
  MultipartStaging,
  StagingStore,
  Upload,
  UploadState,
  UploadStore,
} from '../../store/index.ts';
import { conditional } from '../conditional.ts';
import { presignedUrl } from '../presign.ts';

const partKey = (uploadId: string, part: number) =>
  `uploads/${uploadId}/${String(part).padStart(5, '0')}`;

export class S3StagingStore implements StagingStore, MultipartStaging {
  private readonly s3: S3Client;
  private readonly bucket: string;
  /** Signs part URLs: a client that adds no checksum of its own (see presign.ts). */
  private readonly presigner: S3Client | undefined;

  constructor(s3: S3Client, bucket: string, presigner?: S3Client) {
    this.s3 = s3;
    this.bucket = bucket;
    this.presigner = presigner;
  }

  async openMultipart(uploadId: string): Promise<string> {
    // The joined object is staged as part 1: the disperser reads it as any staged upload.
    const out = await this.s3.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: partKey(uploadId, 1) }),
    );
    if (!out.UploadId) throw new Error('S3 answered CreateMultipartUpload with no UploadId');
    return out.UploadId;
  }

  presignPart(
    uploadId: string,
    multipartId: string,
    part: number,
    expiresInSeconds: number,
  ): Promise<string> {
    if (!this.presigner) throw new Error('this staging store was built without a presigner');
    return presignedUrl(
      this.presigner,
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: partKey(uploadId, 1),
        UploadId: multipartId,
        PartNumber: part,
      }),
      expiresInSeconds,
    );
  }

  async listMultipartParts(
    uploadId: string,
    multipartId: string,
  ): Promise<MultipartPart[] | undefined> {
    const parts: MultipartPart[] = [];
    try {
      const pages = paginateListParts(
        { client: this.s3 },
        { Bucket: this.bucket, Key: partKey(uploadId, 1), UploadId: multipartId },
      );
      for await (const page of pages) {
        for (const p of page.Parts ?? [])
          parts.push({ part: p.PartNumber ?? 0, size: p.Size ?? 0, etag: p.ETag ?? '' });
      }
    } catch (err) {
      // Completed (or aborted) already: its parts are joined, or gone.
      if (err instanceof NoSuchUpload || (err as Error).name === 'NoSuchUpload') return undefined;
      throw err;
    }
    return parts.sort((a, b) => a.part - b.part);
  }

  async completeMultipart(
    uploadId: string,
    multipartId: string,
    parts: MultipartPart[],
  ): Promise<void> {
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: partKey(uploadId, 1),
        UploadId: multipartId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.part, ETag: p.etag })) },
      }),
    );
  }

  async abortMultipart(uploadId: string, multipartId: string): Promise<void> {
    try {
      await this.s3.send(
        new AbortMultipartUploadCommand({
          Bucket: this.bucket,
          Key: partKey(uploadId, 1),
          UploadId: multipartId,
        }),
      );
    } catch (err) {
      // Aborted (or completed) already.
      if (err instanceof NoSuchUpload || (err as Error).name === 'NoSuchUpload') return;
      throw err;
    }
  }

  async putPart(uploadId: string, part: number, body: Uint8Array): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: partKey(uploadId, part), Body: body }),
    );
  }

  async listParts(uploadId: string): Promise<Array<{ part: number; size: number }>> {
    const parts: Array<{ part: number; size: number }> = [];
    const pages = paginateListObjectsV2(
      { client: this.s3 },
      { Bucket: this.bucket, Prefix: `uploads/${uploadId}/` },
    );
    for await (const page of pages) {
      for (const o of page.Contents ?? []) {
        parts.push({ part: Number(o.Key?.split('/').pop()), size: o.Size ?? 0 });
      }
    }
    return parts.sort((a, b) => a.part - b.part);
  }

  async *readPart(uploadId: string, part: number, from = 0): AsyncIterable<Uint8Array> {
    const out = await this.s3.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: partKey(uploadId, part),
        ...(from > 0 ? { Range: `bytes=${from}-` } : {}),
      }),
    );
    if (!out.Body) return;
    yield* out.Body as AsyncIterable<Uint8Array>;
  }

  async deleteUpload(uploadId: string): Promise<void> {
    const parts = await this.listParts(uploadId);
    for (let i = 0; i < parts.length; i += 1000) {
      await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: {
            Objects: parts.slice(i, i + 1000).map((p) => ({ Key: partKey(uploadId, p.part) })),
            Quiet: true,
          },
        }),
      );
    }
  }
}

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

export class SqsDispersalQueue implements DispersalQueue {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
  }

  private attributes: Promise<{ maxReceiveCount: number; visibilityMs: number }> | undefined;

  /** The queue's redrive and visibility, read once (its attributes do not change while it runs). */
  private read(): Promise<{ maxReceiveCount: number; visibilityMs: number }> {
    this.attributes ??= this.sqs
      .send(
        new GetQueueAttributesCommand({
          QueueUrl: this.queueUrl,
          AttributeNames: ['RedrivePolicy', 'VisibilityTimeout'],
        }),
      )
      .then((out) => {
        const policy = JSON.parse(out.Attributes?.RedrivePolicy ?? '{}') as {
          maxReceiveCount?: number | string;
        };
        const count = Number(policy.maxReceiveCount);
        if (!Number.isInteger(count) || count < 1)
          throw new Error(`queue ${this.queueUrl} has no redrive policy with a maxReceiveCount`);
        const visibility = Number(out.Attributes?.VisibilityTimeout);
        if (!Number.isFinite(visibility) || visibility < 0)
          throw new Error(`queue ${this.queueUrl} answered no VisibilityTimeout`);
        return { maxReceiveCount: count, visibilityMs: visibility * 1000 };
      })
      .catch((err) => {
        this.attributes = undefined;
        throw err;
      });
    return this.attributes;
  }

  /**
   * Receives before a dispersal message goes to the dead-letter queue (its redrive policy): the
   * disperser's last attempt is the one that receive count reaches.
   */
  async maxReceiveCount(): Promise<number> {
    return (await this.read()).maxReceiveCount;
  }

  async redeliveryDelayMs(): Promise<number> {
    return (await this.read()).visibilityMs;
  }

  async enqueue(uploadId: string, step = 0): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(step === 0 ? { uploadId } : { uploadId, step }),
      }),
    );
  }
}

/** The workers' queues and the status queue (SQS), behind ports.ts `WorkerQueues` and `StatusQueue`. */
import {
  ChangeMessageVisibilityBatchCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  StatusBatches,
  TaskMessage,
  TaskStatus,
  WorkerInbox,
  WorkerQueues,
} from '../../replication/index.ts';

/** Entries per SQS batch call (SendMessageBatch, ChangeMessageVisibilityBatch). */
const SQS_BATCH = 10;

/**
 * Makes one batch call per SQS_BATCH of `items`, in turn. @throws naming `what` was refused,
 * unless every entry of every call was taken.
 */
async function inBatches<T>(
  items: readonly T[],
  call: (chunk: T[]) => Promise<{ Failed?: Array<{ Message?: string }> }>,
  what: string,
): Promise<void> {
  for (let i = 0; i < items.length; i += SQS_BATCH) {
    const out = await call(items.slice(i, i + SQS_BATCH));
    if (out.Failed?.length)
      throw new Error(`${out.Failed.length} ${what}: ${out.Failed[0]?.Message}`);
  }
}

export class SqsWorkerQueues implements WorkerQueues {
  private readonly sqs: SQSClient;
  private readonly urls: readonly string[];

  constructor(sqs: SQSClient, urls: readonly string[]) {
    this.sqs = sqs;
    this.urls = urls;
  }

  get count(): number {
    return this.urls.length;
  }

  async send(worker: number, messages: TaskMessage[], delaySeconds?: number): Promise<void> {
    const url = this.urls[worker];
    if (!url) throw new Error(`no queue for replication worker ${worker}`);
    await inBatches(
      messages,
      (chunk) =>
        this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: chunk.map((m, i) => ({
              Id: String(i),
              MessageBody: JSON.stringify(m),
              ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}),
            })),
          }),
        ),
      `task messages refused by worker ${worker}'s queue`,
    );
  }
}

export class SqsStatusQueue implements StatusBatches {
  private readonly sqs: SQSClient;
  private readonly url: string;

  constructor(sqs: SQSClient, url: string) {
    this.sqs = sqs;
    this.url = url;
  }

  async send(status: TaskStatus): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: this.url, MessageBody: JSON.stringify(status) }),
    );
  }

  sendAll(statuses: TaskStatus[]): Promise<void> {
    return inBatches(
      statuses,
      (chunk) =>
        this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.url,
            Entries: chunk.map((s, n) => ({ Id: String(n), MessageBody: JSON.stringify(s) })),
          }),
        ),
      'statuses refused by the status queue',
    );
  }
}

/** A worker's own queue, for giving back the messages of a batch it did not begin. */
export class SqsWorkerInbox implements WorkerInbox {
  private readonly sqs: SQSClient;
  private readonly url: string;

  constructor(sqs: SQSClient, url: string) {
    this.sqs = sqs;
    this.url = url;
  }

  requeue(bodies: string[]): Promise<void> {
    return inBatches(
      bodies,
      (chunk) =>
        this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.url,
            Entries: chunk.map((MessageBody, n) => ({ Id: String(n), MessageBody })),
          }),
        ),
      "messages not sent again to the worker's queue",
    );
  }

  handBack(receipts: string[]): Promise<void> {
    return inBatches(
      receipts,
      (chunk) =>
        this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.url,
            Entries: chunk.map((ReceiptHandle, n) => ({
              Id: String(n),
              ReceiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        ),
      "messages not handed back to the worker's queue",
    );
  }
}

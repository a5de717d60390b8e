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
    const out = await this.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify(m),
          ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}),
        })),
      }),
    );
    if (out.Failed?.length)
      throw new Error(
        `${out.Failed.length} task messages refused by worker ${worker}'s queue: ${out.Failed[0]?.Message}`,
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

  async sendAll(statuses: TaskStatus[]): Promise<void> {
    for (let i = 0; i < statuses.length; i += SQS_BATCH) {
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.url,
          Entries: statuses.slice(i, i + SQS_BATCH).map((s, n) => ({
            Id: String(n),
            MessageBody: JSON.stringify(s),
          })),
        }),
      );
      if (out.Failed?.length)
        throw new Error(
          `${out.Failed.length} statuses refused by the status queue: ${out.Failed[0]?.Message}`,
        );
    }
  }
}

/** A worker's own queue, for handing back the messages of a batch it did not begin. */
export class SqsWorkerInbox implements WorkerInbox {
  private readonly sqs: SQSClient;
  private readonly url: string;

  constructor(sqs: SQSClient, url: string) {
    this.sqs = sqs;
    this.url = url;
  }

  async handBack(receipts: string[]): Promise<void> {
    for (let i = 0; i < receipts.length; i += SQS_BATCH) {
      const out = await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.url,
          Entries: receipts.slice(i, i + SQS_BATCH).map((ReceiptHandle, n) => ({
            Id: String(n),
            ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      if (out.Failed?.length)
        throw new Error(
          `${out.Failed.length} messages not handed back to the worker's queue: ${out.Failed[0]?.Message}`,
        );
    }
  }
}

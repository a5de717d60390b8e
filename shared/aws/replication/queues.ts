/** The workers' queues and the status queue (SQS), behind ports.ts `WorkerQueues` and `StatusQueue`. */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type {
  StatusQueue,
  TaskMessage,
  TaskStatus,
  WorkerQueues,
} from '../../replication/index.ts';

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

export class SqsStatusQueue implements StatusQueue {
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
}

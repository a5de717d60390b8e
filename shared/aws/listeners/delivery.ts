/**
 * Where messages leave the listeners system: the delivery nodes' FIFO queues, and the
 * listeners' targets (an SQS queue, a webhook, a Lambda function invoked asynchronously).
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  messageGroupOf,
  type NodeMessage,
  type NodeQueues,
  type TargetSender,
  type WatchQueues,
  type WebhookOutcome,
} from '../../listeners/index.ts';

/** Node `i` is the queue at `queueUrls[i]`. */
export class SqsNodeQueues implements NodeQueues {
  private readonly sqs: SQSClient;
  private readonly queueUrls: readonly string[];

  constructor(sqs: SQSClient, queueUrls: readonly string[]) {
    this.sqs = sqs;
    this.queueUrls = queueUrls;
  }

  get count(): number {
    return this.queueUrls.length;
  }

  async send(node: number, message: NodeMessage): Promise<void> {
    const queueUrl = this.queueUrls[node];
    if (queueUrl === undefined) throw new Error(`no delivery node ${node} (${this.count} nodes)`);
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        // One group per key: a node gets a key's events in the order they were sent.
        MessageGroupId: messageGroupOf(message.event.vault, message.event.key),
        // A rerun of the announcement within five minutes is dropped by the queue.
        MessageDeduplicationId: message.event.id,
      }),
    );
  }
}

export class AwsTargetSender implements TargetSender {
  private readonly sqs: SQSClient;
  private readonly lambda: () => LambdaClient;

  /** `lambda` is called on first use: most nodes never invoke one. */
  constructor(sqs: SQSClient, lambda: () => LambdaClient) {
    this.sqs = sqs;
    this.lambda = lambda;
  }

  async sendToQueue(queueUrl: string, body: string, groupId: string, dedupId: string) {
    const fifo = queueUrl.endsWith('.fifo');
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        ...(fifo ? { MessageGroupId: groupId, MessageDeduplicationId: dedupId } : {}),
      }),
    );
  }

  async postWebhook(
    url: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<WebhookOutcome> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      return { status: res.status };
    } catch (err) {
      const cause = (err as Error).cause as Error | undefined;
      return { error: `${(err as Error).message}${cause ? `: ${cause.message}` : ''}` };
    }
  }

  async invokeAsync(functionName: string, body: string): Promise<void> {
    await this.lambda().send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(body),
      }),
    );
  }
}

/** `dsn watch`'s queues: made by the watch, removed by it or by the sweep. */
export class SqsWatchQueues implements WatchQueues {
  private readonly sqs: SQSClient;

  constructor(sqs: SQSClient) {
    this.sqs = sqs;
  }

  /** Makes a FIFO queue named `name` (a key's events stay in order); returns its URL. */
  async create(name: string): Promise<string> {
    const out = await this.sqs.send(
      new CreateQueueCommand({
        QueueName: `${name}.fifo`,
        Attributes: { FifoQueue: 'true', MessageRetentionPeriod: '3600' },
      }),
    );
    return out.QueueUrl as string;
  }

  /** What waits on the queue, up to 10 messages, waiting up to `waitSeconds` for one. */
  async receive(
    queueUrl: string,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<Array<{ body: string; receipt: string }>> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
      }),
      { abortSignal: signal },
    );
    return (out.Messages ?? []).map((m) => ({
      body: m.Body ?? '',
      receipt: m.ReceiptHandle ?? '',
    }));
  }

  async acknowledge(queueUrl: string, receipts: string[]): Promise<void> {
    if (receipts.length === 0) return;
    await this.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: receipts.map((ReceiptHandle, i) => ({ Id: String(i), ReceiptHandle })),
      }),
    );
  }

  async remove(queueUrl: string): Promise<void> {
    try {
      await this.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    } catch (err) {
      if (
        (err as Error).name !== 'QueueDoesNotExist' &&
        (err as Error).name !== 'AWS.SimpleQueueService.NonExistentQueue'
      )
        throw err;
    }
  }
}

/** The dispersal queue on AWS: one SQS message per step of a staged upload's dispersal. */
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DispersalQueue } from '../../store/index.ts';

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

  async follow(uploadId: string, followUp: number, delaySeconds: number): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({ uploadId, followUp }),
        DelaySeconds: delaySeconds,
      }),
    );
  }
}

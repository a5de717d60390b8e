/** WorkNudge on SQS: one message per add on the work queue invokes a worker. */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { nudgeBody, type WorkNudge } from '../../work/index.ts';

export class SqsWorkNudge implements WorkNudge {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
  }

  async nudge(vault: string): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: nudgeBody(vault) }),
    );
  }
}

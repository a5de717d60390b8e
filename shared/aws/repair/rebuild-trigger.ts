/** RebuildTrigger on SQS: a message on the rebuild queue invokes the rebuilder once more. */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RebuildTrigger } from '../../repair/index.ts';

export class SqsRebuildTrigger implements RebuildTrigger {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
  }

  async continue(vault: string, id: string): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({ vault, id }),
      }),
    );
  }
}

/** PlanRequests on SQS: `POST /admin/edge/plan` leaves a request that the planner function takes. */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PlanRequests } from '../../edge/index.ts';

export class SqsPlanRequests implements PlanRequests {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
  }

  async request(group: string | undefined, at: Date): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({
          ...(group === undefined ? {} : { group }),
          requestedAt: at.toISOString(),
        }),
      }),
    );
  }
}

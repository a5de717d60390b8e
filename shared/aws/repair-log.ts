/** RepairLog on SQS: damage met by reads waits in the repair queue for the rebuilder. */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RepairLog, SliceDamage } from '../ports.ts';

export class SqsRepairLog implements RepairLog {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
  }

  async record(damage: SliceDamage[]): Promise<void> {
    // SendMessageBatch takes at most ten entries.
    for (let i = 0; i < damage.length; i += 10) {
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: damage
            .slice(i, i + 10)
            .map((d, j) => ({ Id: String(j), MessageBody: JSON.stringify(d) })),
        }),
      );
      if (out.Failed?.length)
        throw new Error(
          `repair queue refused ${out.Failed.length} records: ${out.Failed[0]?.Message}`,
        );
    }
  }
}

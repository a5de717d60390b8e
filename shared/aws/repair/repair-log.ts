/** RepairLog on SQS: damage met by reads waits in the repair queue for the rebuilder. */
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { QueuedDamage, RepairInbox } from '../../repair/index.ts';
import type { RepairLog, SliceDamage } from '../../store/index.ts';

/** A record taken but not removed (its repair failed) comes back after this long. */
const RETRY_AFTER_SECONDS = 300;

export class SqsRepairLog implements RepairLog, RepairInbox {
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

  async receive(max: number): Promise<QueuedDamage[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.min(10, Math.max(1, max)),
        WaitTimeSeconds: 0,
        VisibilityTimeout: RETRY_AFTER_SECONDS,
      }),
    );
    const taken: QueuedDamage[] = [];
    for (const m of out.Messages ?? []) {
      if (!m.ReceiptHandle) continue;
      try {
        taken.push({ damage: JSON.parse(m.Body ?? '') as SliceDamage, handle: m.ReceiptHandle });
      } catch {
        // Not a record this code wrote: removed so it does not come back forever.
        await this.remove([m.ReceiptHandle]);
      }
    }
    return taken;
  }

  async remove(handles: string[]): Promise<void> {
    for (let i = 0; i < handles.length; i += 10) {
      const out = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: handles.slice(i, i + 10).map((h, j) => ({ Id: String(j), ReceiptHandle: h })),
        }),
      );
      if (out.Failed?.length)
        throw new Error(
          `repair queue kept ${out.Failed.length} records: ${out.Failed[0]?.Message}`,
        );
    }
  }
}

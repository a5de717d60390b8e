/** RepairLog on SQS: damage met by reads waits in the repair queue for the rebuilder. */
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describeError } from '../../describe-error.ts';
import type { Logger } from '../../log.ts';
import type { QueuedDamage, RepairInbox } from '../../repair/index.ts';
import { parseSliceDamage, type RepairLog, type SliceDamage } from '../../store/index.ts';

/** A record taken but not removed (its repair failed) comes back after this long. */
const RETRY_AFTER_SECONDS = 300;

export class SqsRepairLog implements RepairLog, RepairInbox {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly logger: Logger;

  /** `logger` hears of records refused as malformed. */
  constructor(sqs: SQSClient, queueUrl: string, logger: Logger) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
    this.logger = logger;
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
      let damage: SliceDamage;
      try {
        damage = parseSliceDamage(m.Body ?? '');
      } catch (err) {
        // Not a record this code wrote: removed so it does not come back forever, and said so
        // (the scan of the next rebuild still finds the damage, if there is any).
        this.refused(m.MessageId, err);
        await this.remove([m.ReceiptHandle]);
        continue;
      }
      taken.push({ damage, handle: m.ReceiptHandle });
    }
    return taken;
  }

  private refused(messageId: string | undefined, err: unknown): void {
    const message = 'repair queue record refused as malformed, and removed';
    this.logger.warn(message, { messageId, error: describeError(err) });
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

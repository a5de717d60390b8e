/**
 * The SQS side of every queue-fed handler: each record is handled on its own, and the ones that
 * failed are reported back (ReportBatchItemFailures) so that only they return to the queue,
 * and after maxReceiveCount land in its dead-letter queue. Nothing is dropped silently.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export async function forEachRecord(
  event: SQSEvent,
  handle: (record: SQSRecord) => Promise<void>,
  options: { concurrent: boolean } = { concurrent: true },
): Promise<SQSBatchResponse> {
  const failed: string[] = [];
  const one = async (record: SQSRecord) => {
    try {
      await handle(record);
    } catch (err) {
      console.error(
        JSON.stringify({
          messageId: record.messageId,
          error: `${(err as Error).name}: ${(err as Error).message}`,
        }),
      );
      failed.push(record.messageId);
    }
  };
  if (options.concurrent) await Promise.all(event.Records.map(one));
  else for (const record of event.Records) await one(record);
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

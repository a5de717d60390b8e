/**
 * The SQS side of every queue-fed handler: each record is handled on its own, and the ones that
 * failed are reported back (ReportBatchItemFailures) so that only they return to the queue,
 * and after maxReceiveCount land in its dead-letter queue. Nothing is dropped silently.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { powertoolsLogger } from '../shared/aws/logger.ts';
import type { Logger } from '../shared/log.ts';

const fallbackLog = powertoolsLogger('dsn', 'sqs');

/** Logs each failure with its stack and `cause` chain, and hands the records back to SQS. */
function reportFailures(failed: Map<string, unknown>, log: Logger): SQSBatchResponse {
  for (const [messageId, err] of failed) log.error('record failed', err, { messageId });
  return {
    batchItemFailures: [...failed.keys()].map((itemIdentifier) => ({ itemIdentifier })),
  };
}

export async function forEachRecord(
  event: SQSEvent,
  handle: (record: SQSRecord) => Promise<void>,
  options: { concurrent: boolean; log?: Logger } = { concurrent: true },
): Promise<SQSBatchResponse> {
  const failed = new Map<string, unknown>();
  const one = async (record: SQSRecord) => {
    try {
      await handle(record);
    } catch (err) {
      failed.set(record.messageId, err);
    }
  };
  if (options.concurrent) await Promise.all(event.Records.map(one));
  else for (const record of event.Records) await one(record);
  return reportFailures(failed, options.log ?? fallbackLog);
}

/**
 * For handlers that settle a whole batch in one go, to share round trips between its records.
 * `parse` turns each record into its items (a record that does not parse fails alone);
 * `settle` gets every item of the batch and returns one result per item, in order. A record
 * fails, and returns to the queue whole, when any of its items was rejected.
 */
export async function forWholeBatch<T>(
  event: SQSEvent,
  parse: (record: SQSRecord) => T[],
  settle: (items: T[]) => Promise<PromiseSettledResult<unknown>[]>,
  log: Logger = fallbackLog,
): Promise<SQSBatchResponse> {
  const failed = new Map<string, unknown>();
  const items: T[] = [];
  const owners: string[] = [];
  for (const record of event.Records) {
    try {
      for (const item of parse(record)) {
        items.push(item);
        owners.push(record.messageId);
      }
    } catch (err) {
      failed.set(record.messageId, err);
    }
  }
  const results = items.length > 0 ? await settle(items) : [];
  results.forEach((r, i) => {
    const owner = owners[i] as string;
    if (r.status === 'rejected' && !failed.has(owner)) failed.set(owner, r.reason);
  });
  return reportFailures(failed, log);
}

/**
 * For FIFO queues: records one after the other, and at the first failure that record and every
 * later one go back, so no message overtakes an earlier one of its group.
 */
export async function forEachInOrder(
  event: SQSEvent,
  handle: (record: SQSRecord) => Promise<void>,
  log: Logger = fallbackLog,
): Promise<SQSBatchResponse> {
  for (const [i, record] of event.Records.entries()) {
    try {
      await handle(record);
    } catch (err) {
      const failed = new Map<string, unknown>([[record.messageId, err]]);
      for (const later of event.Records.slice(i + 1)) failed.set(later.messageId, 'not tried');
      return reportFailures(failed, log);
    }
  }
  return { batchItemFailures: [] };
}

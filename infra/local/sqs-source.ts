/**
 * The SQS event source mapping, as Lambda runs it: long-poll the queue, hand batches to the
 * function, delete what succeeded. With `ReportBatchItemFailures` only the records the handler
 * names stay on the queue; a thrown error leaves the whole batch. Records left behind come back
 * after the queue's visibility timeout, and the queue's own redrive policy moves them to the
 * dead-letter queue after `maxReceiveCount` receives, exactly as on AWS.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SqsEventSource } from './service.ts';

export interface SqsPollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  source: SqsEventSource;
  invoke: (event: unknown) => Promise<unknown>;
  /** Batches in flight at once (Lambda starts with five pollers per queue). */
  concurrency?: number;
  log?: (line: string) => void;
}

export interface SqsPoller {
  /** Stops receiving; a batch in flight finishes or fails with its invocation. */
  signal(): void;
  /** Settles once every polling loop has ended. */
  done: Promise<void>;
  stop(): Promise<void>;
}

function toRecord(m: Message, queueArn: string, region: string) {
  const messageAttributes: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(m.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      stringValue: v.StringValue,
      binaryValue: v.BinaryValue ? Buffer.from(v.BinaryValue).toString('base64') : undefined,
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      dataType: v.DataType,
    };
  }
  return {
    messageId: m.MessageId,
    receiptHandle: m.ReceiptHandle,
    body: m.Body ?? '',
    attributes: m.Attributes ?? {},
    messageAttributes,
    md5OfBody: m.MD5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Which messages of a batch to delete, given what the handler returned. */
export function messagesToDelete(
  batch: Message[],
  result: unknown,
  reportBatchItemFailures: boolean,
): Message[] {
  if (!reportBatchItemFailures) return batch;
  const failures = (result as { batchItemFailures?: unknown } | null)?.batchItemFailures;
  if (failures === undefined || failures === null) return batch;
  if (!Array.isArray(failures)) return [];
  const ids = new Set(batch.map((m) => m.MessageId));
  const failed = new Set<string>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    // Lambda treats an empty or unknown identifier as a failure of the whole batch.
    if (typeof id !== 'string' || !ids.has(id)) return [];
    failed.add(id);
  }
  return batch.filter((m) => !failed.has(m.MessageId as string));
}

export function startSqsPoller(opts: SqsPollerOptions): SqsPoller {
  const { sqs, queueUrl, source } = opts;
  const abort = new AbortController();
  let running = true;

  async function receive(): Promise<Message[]> {
    const batch: Message[] = [];
    const windowEnds = Date.now() + source.maximumBatchingWindow * 1000;
    do {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, source.batchSize - batch.length),
          WaitTimeSeconds: batch.length === 0 ? 20 : 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
        { abortSignal: abort.signal },
      );
      if (!Messages?.length) break;
      batch.push(...Messages);
    } while (running && batch.length < source.batchSize && Date.now() < windowEnds);
    return batch;
  }

  async function handle(batch: Message[]): Promise<void> {
    let result: unknown;
    try {
      result = await opts.invoke({
        Records: batch.map((m) => toRecord(m, opts.queueArn, opts.region)),
      });
    } catch (err) {
      opts.log?.(
        `batch of ${batch.length} failed (${(err as Error).name}: ${(err as Error).message}); it returns after the visibility timeout`,
      );
      return;
    }
    const done = messagesToDelete(batch, result, source.reportBatchItemFailures);
    for (let i = 0; i < done.length; i += 10) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done
            .slice(i, i + 10)
            .map((m) => ({ Id: randomUUID(), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }

  async function loop(): Promise<void> {
    while (running) {
      try {
        const batch = await receive();
        if (batch.length > 0) await handle(batch);
      } catch (err) {
        if (!running) return;
        opts.log?.(`polling ${queueUrl} failed: ${(err as Error).message}`);
        // A failing emulator call is retried on the next turn; back off a little first.
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  const loops = Array.from({ length: opts.concurrency ?? 2 }, () => loop());
  const signal = () => {
    running = false;
    abort.abort();
  };
  const done = Promise.all(loops).then(() => {});
  return {
    signal,
    done,
    async stop() {
      signal();
      await done;
    },
  };
}

/**
 * The SQS event source mapping, as Lambda runs it: long-poll the queue, hand batches to the
 * function, delete what succeeded. With `ReportBatchItemFailures` only the records the handler
 * names stay on the queue; a thrown error leaves the whole batch. Records left behind come back
 * after the queue's visibility timeout, and the queue's own redrive policy moves them to the
 * dead-letter queue after `maxReceiveCount` receives, exactly as on AWS.
 *
 * The two calls it makes (ReceiveMessage, DeleteMessageBatch) go straight to the local emulator
 * over SQS's JSON protocol rather than through the AWS SDK. On AWS this polling is Lambda's and
 * costs the functions nothing; here it shares two cores with everything else, and the SDK's
 * per-call middleware (about 2 ms of CPU) made the pollers a large share of the emulator
 * process's work: two calls per message, at least one message per unit per segment.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { SqsEventSource } from './service.ts';

export interface SqsPollerOptions {
  /** The queue's URL on the local emulator, which also takes the calls. */
  queueUrl: string;
  queueArn: string;
  region: string;
  source: SqsEventSource;
  invoke: (event: unknown) => Promise<unknown>;
  /** Batches in flight at once (Lambda starts with five pollers per queue). */
  concurrency?: number;
  /**
   * The function's role key: the mapping receives and deletes as the function's role, as on
   * AWS, so the local IAM (iam.ts) holds it to its `sqs:` permissions.
   */
  accessKeyId?: string;
  log?: (line: string) => void;
}

export interface SqsPoller {
  /** Stops receiving; a batch in flight finishes or fails with its invocation. */
  signal(): void;
  /** Settles once every polling loop has ended. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** A received message as SQS's JSON protocol carries it (binary values in base64). */
export interface QueueMessage {
  MessageId?: string;
  ReceiptHandle?: string;
  Body?: string;
  MD5OfBody?: string;
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<
    string,
    {
      DataType?: string;
      StringValue?: string;
      BinaryValue?: string;
      StringListValues?: string[];
      BinaryListValues?: string[];
    }
  >;
}

/** An error answer of the SQS JSON protocol (`__type`, `message`). */
export class SqsCallError extends Error {
  readonly status: number;
  constructor(action: string, status: number, type: string, message: string) {
    super(`${action}: ${status} ${type}${message ? ` ${message}` : ''}`);
    this.name = 'SqsCallError';
    this.status = status;
  }
}

const agent = new Agent({ keepAlive: true });

/** One SQS JSON-protocol call to the emulator that serves `queueUrl`. */
function sqsCall<T>(
  queueUrl: string,
  action: string,
  body: Record<string, unknown>,
  signal?: AbortSignal,
  authorization?: string,
): Promise<T> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/', queueUrl),
      {
        method: 'POST',
        agent,
        signal,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(payload),
          'x-amz-target': `AmazonSQS.${action}`,
          ...(authorization ? { authorization } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            parsed = { message: text.slice(0, 200) };
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed as T);
          else
            reject(
              new SqsCallError(
                action,
                status,
                String(parsed.__type ?? 'Error'),
                String(parsed.message ?? ''),
              ),
            );
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function toRecord(m: QueueMessage, queueArn: string, region: string) {
  const messageAttributes: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(m.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      stringValue: v.StringValue,
      binaryValue: v.BinaryValue,
      stringListValues: v.StringListValues ?? [],
      binaryListValues: v.BinaryListValues ?? [],
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
export function messagesToDelete<M extends { MessageId?: string }>(
  batch: M[],
  result: unknown,
  reportBatchItemFailures: boolean,
): M[] {
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
  const { queueUrl, source } = opts;
  const abort = new AbortController();
  let running = true;
  // Who calls, for the local IAM: the credential scope alone (the emulator checks no header
  // signature, so none is computed).
  const authorization = () =>
    opts.accessKeyId === undefined
      ? undefined
      : `AWS4-HMAC-SHA256 Credential=${opts.accessKeyId}/${new Date().toISOString().slice(0, 10).replace(/-/g, '')}/${opts.region}/sqs/aws4_request, SignedHeaders=host, Signature=none`;

  async function receive(): Promise<QueueMessage[]> {
    const batch: QueueMessage[] = [];
    const windowEnds = Date.now() + source.maximumBatchingWindow * 1000;
    do {
      const { Messages } = await sqsCall<{ Messages?: QueueMessage[] }>(
        queueUrl,
        'ReceiveMessage',
        {
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, source.batchSize - batch.length),
          WaitTimeSeconds: batch.length === 0 ? 20 : 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        },
        abort.signal,
        authorization(),
      );
      if (!Messages?.length) break;
      batch.push(...Messages);
    } while (running && batch.length < source.batchSize && Date.now() < windowEnds);
    return batch;
  }

  async function handle(batch: QueueMessage[]): Promise<void> {
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
      const out = await sqsCall<{ Failed?: Array<{ Id?: string; Message?: string }> }>(
        queueUrl,
        'DeleteMessageBatch',
        {
          QueueUrl: queueUrl,
          Entries: done
            .slice(i, i + 10)
            .map((m) => ({ Id: randomUUID(), ReceiptHandle: m.ReceiptHandle })),
        },
        undefined,
        authorization(),
      );
      // Not deleted means redelivered after the visibility timeout: worth a line, not a stop.
      if (out.Failed?.length) {
        opts.log?.(`${out.Failed.length} deletes failed: ${out.Failed[0]?.Message ?? ''}`);
      }
    }
  }

  // One receive at a time per queue: the loop that gets a batch hands the turn to the next
  // before handling it. Batches still run side by side, but a message no longer wakes every
  // waiting loop (each of which then made an empty call), and messages that arrive while
  // all loops are busy wait to go out together in the next batch.
  let turn: Promise<void> = Promise.resolve();
  async function receiveInTurn(): Promise<QueueMessage[]> {
    const previous = turn;
    let pass = () => {};
    turn = new Promise((r) => {
      pass = r;
    });
    try {
      await previous;
      return running ? await receive() : [];
    } finally {
      pass();
    }
  }

  async function loop(): Promise<void> {
    while (running) {
      try {
        const batch = await receiveInTurn();
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

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startSqsPoller } from '../../../infra/local/sqs-source.ts';

/** A queue over SQS's JSON protocol: `enqueue` adds messages, long polls wait for them. */
async function stubQueue() {
  const messages: string[] = [];
  const waiting: Array<() => void> = [];
  let receiving = 0;
  let mostReceiving = 0;
  let receives = 0;
  const deleted: string[] = [];
  /** `<target> <authorization>` of every call. */
  const calls: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    calls.push(`${req.headers['x-amz-target']} ${req.headers.authorization ?? '(unsigned)'}`);
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', async () => {
      const input = JSON.parse(body);
      const reply = (out: unknown) => res.end(JSON.stringify(out));
      if (req.headers['x-amz-target'] === 'AmazonSQS.DeleteMessageBatch') {
        for (const e of input.Entries) deleted.push(e.ReceiptHandle);
        return reply({ Successful: [], Failed: [] });
      }
      receives++;
      receiving++;
      mostReceiving = Math.max(mostReceiving, receiving);
      if (messages.length === 0 && input.WaitTimeSeconds > 0) {
        await new Promise<void>((r) => {
          waiting.push(r);
          req.socket.once('close', r);
        });
      }
      receiving--;
      const batch = messages.splice(0, input.MaxNumberOfMessages);
      reply({
        Messages: batch.length
          ? batch.map((id) => ({ MessageId: id, ReceiptHandle: id, Body: id }))
          : undefined,
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/000000000000/q`,
    enqueue: (...ids: string[]) => {
      messages.push(...ids);
      for (const wake of waiting.splice(0)) wake();
    },
    stats: () => ({ mostReceiving, receives, deleted, calls }),
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

/** A poller's queue and source: batches of one message, sent as they come. */
function oneAtATime(queueUrl: string) {
  return {
    queueUrl,
    queueArn: 'arn:aws:sqs:us-east-1:000000000000:q',
    region: 'us-east-1',
    source: {
      type: 'sqs' as const,
      arn: 'q',
      batchSize: 1,
      maximumBatchingWindow: 0,
      reportBatchItemFailures: true,
      enabled: true,
    },
  };
}

test('one receive at a time per queue, while batches are handled side by side', async () => {
  // Prepare: three loops; the handler holds each batch until released.
  const queue = await stubQueue();
  const release: Array<() => void> = [];
  let handling = 0;
  let mostHandling = 0;
  const poller = startSqsPoller({
    ...oneAtATime(queue.url),
    concurrency: 3,
    invoke: async () => {
      handling++;
      mostHandling = Math.max(mostHandling, handling);
      await new Promise<void>((r) => release.push(r));
      handling--;
      return { batchItemFailures: [] };
    },
  });
  try {
    // Act: three messages, each a batch of its own, all held at once.
    queue.enqueue('a', 'b', 'c');
    const deadline = Date.now() + 5_000;
    while (release.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    for (const r of release.splice(0)) r();
    while (queue.stats().deleted.length < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));

    // Assess: three batches ran together, yet no two receives were ever in flight at once.
    assert.equal(mostHandling, 3);
    assert.equal(queue.stats().mostReceiving, 1);
    assert.deepEqual([...queue.stats().deleted].sort(), ['a', 'b', 'c']);
  } finally {
    poller.signal();
    await queue.close();
    await poller.done;
  }
});

test('the mapping receives and deletes as the function’s role, for the local IAM', async () => {
  const queue = await stubQueue();
  const poller = startSqsPoller({
    ...oneAtATime(queue.url),
    accessKeyId: 'local-role.WorkerRole',
    invoke: async () => ({ batchItemFailures: [] }),
  });
  try {
    queue.enqueue('a');
    const deadline = Date.now() + 5_000;
    while (queue.stats().deleted.length < 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    const scope = /Credential=local-role\.WorkerRole\/\d{8}\/us-east-1\/sqs\/aws4_request,/;
    const calls = queue.stats().calls;
    for (const target of ['AmazonSQS.ReceiveMessage', 'AmazonSQS.DeleteMessageBatch']) {
      const made = calls.filter((c) => c.startsWith(`${target} `));
      assert.ok(made.length > 0, target);
      for (const c of made) assert.match(c, scope);
    }
  } finally {
    poller.signal();
    await queue.close();
    await poller.done;
  }
});

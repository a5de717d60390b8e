/**
 * A replication worker: runs the tasks its own queue brings, one after the other, a batch of up
 * to ten messages an invocation (shared/replication/worker-batch.ts).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireReplicationWorker } from '../shared/aws/replication/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { HandedBackError, runTaskBatch } from '../shared/replication/index.ts';

const rt = runtime('replication');
const deps = wireReplicationWorker(rt);

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const failed = await runTaskBatch(
    { ...deps, remainingMs: () => context.getRemainingTimeInMillis() },
    event.Records.map((r) => ({
      id: r.messageId,
      body: r.body,
      receipt: r.receiptHandle,
      received: Number(r.attributes.ApproximateReceiveCount),
    })),
  );
  for (const [messageId, err] of failed)
    if (err instanceof HandedBackError)
      rt.log.info('replication record handed back', { messageId, why: err.message });
    else rt.log.error('record failed', err, { messageId });
  return { batchItemFailures: [...failed.keys()].map((itemIdentifier) => ({ itemIdentifier })) };
};

/** A replication worker: runs the tasks its own queue brings, one message at a time. */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireReplicationWorker } from '../shared/aws/replication/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { parseTaskMessage, runTask } from '../shared/replication/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('replication');
const deps = wireReplicationWorker(rt);

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  forEachRecord(
    event,
    async (record) => {
      await runTask(
        { ...deps, remainingMs: () => context.getRemainingTimeInMillis() },
        parseTaskMessage(record.body),
        { received: Number(record.attributes.ApproximateReceiveCount) },
      );
    },
    { concurrent: false, log: rt.log },
  );

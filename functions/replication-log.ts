/** The replication status log: every worker status from the status queue into the DynamoDB log, idempotently. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireReplicationStatusLog } from '../shared/aws/replication/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { parseStatus, recordStatusOnce } from '../shared/replication/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('replication');
const deps = wireReplicationStatusLog(rt);

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forEachRecord(
    event,
    async (record) => {
      await recordStatusOnce(deps, parseStatus(record.body), {
        received: Number(record.attributes.ApproximateReceiveCount),
      });
    },
    { concurrent: true, log: rt.log },
  );

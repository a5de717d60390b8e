/**
 * The disperser: completed staged uploads are streamed from staging through the writer. The
 * last attempt before the dead-letter queue ends a failing upload `failed`, with the reason.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runtime } from '../shared/aws/runtime.ts';
import { wireUploads, wireWriter } from '../shared/aws/store/wire.ts';
import { attemptDispersal, parseDispersalMessage } from '../shared/store/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('store');
const { writer, commitWaitMs } = wireWriter(rt);
const deps = { ...wireUploads(rt), writer, log: rt.log };

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forEachRecord(
    event,
    async (record) => {
      const { uploadId } = parseDispersalMessage(record.body);
      await attemptDispersal(deps, uploadId, commitWaitMs, {
        received: Number(record.attributes.ApproximateReceiveCount),
        max: await deps.dispersal.maxReceiveCount(),
      });
    },
    { concurrent: false, log: rt.log },
  );

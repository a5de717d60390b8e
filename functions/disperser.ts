/** The disperser: completed staged uploads are streamed from staging through the writer. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runtime } from '../shared/aws/runtime.ts';
import { wireUploads, wireWriter } from '../shared/aws/store/wire.ts';
import { disperseUpload, parseDispersalMessage } from '../shared/store/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('store');
const { writer, commitWaitMs } = wireWriter(rt);
const deps = { ...wireUploads(rt), writer };

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forEachRecord(
    event,
    async (record) => {
      const { uploadId } = parseDispersalMessage(record.body);
      await disperseUpload(deps, uploadId, commitWaitMs);
    },
    { concurrent: false, log: rt.log },
  );

/** The disperser: completed staged uploads are streamed from staging through the writer. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireDeployment } from '../shared/aws/deployment.ts';
import { disperseUpload } from '../shared/store/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const d = wireDeployment();

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forEachRecord(
    event,
    async (record) => {
      const { uploadId } = JSON.parse(record.body) as { uploadId: string };
      await disperseUpload(d, uploadId, d.config.commitWaitMs);
    },
    { concurrent: false },
  );

/** The disperser: completed staged uploads are streamed from staging through the writer. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireDeployment } from '../shared/aws/deployment.ts';
import { disperseUpload } from '../shared/upload.ts';

const d = wireDeployment();

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const failed: string[] = [];
  for (const record of event.Records) {
    try {
      const { uploadId } = JSON.parse(record.body) as { uploadId: string };
      const writer = {
        ...d.committer,
        vaults: d.vaults,
        slices: d.slices,
        multicast: d.multicast,
        pendingTimeoutMs: d.config.pendingTimeoutMs,
      };
      await disperseUpload({ ...d, writer }, uploadId, d.config.commitWaitMs);
    } catch (err) {
      console.error(
        JSON.stringify({
          messageId: record.messageId,
          error: `${(err as Error).name}: ${(err as Error).message}`,
        }),
      );
      failed.push(record.messageId);
    }
  }
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
};

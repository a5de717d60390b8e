/** The committer: unit statuses in, commits (and their associated tasks) out. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireDeployment } from '../shared/aws/deployment.ts';
import { recordStatusOnce } from '../shared/committer.ts';
import { parseUnitStatus } from '../shared/multicast.ts';

const d = wireDeployment();

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const failed: string[] = [];
  await Promise.all(
    event.Records.map(async (record) => {
      try {
        await recordStatusOnce(d.committer, parseUnitStatus(record.body));
      } catch (err) {
        console.error(
          JSON.stringify({
            messageId: record.messageId,
            error: `${(err as Error).name}: ${(err as Error).message}`,
          }),
        );
        failed.push(record.messageId);
      }
    }),
  );
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
};

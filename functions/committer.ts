/** The committer: unit statuses in, commits (and their associated tasks) out, a batch at a time. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireDeployment } from '../shared/aws/deployment.ts';
import { parseStatusMessage, recordStatusesOnce } from '../shared/store/index.ts';
import { forWholeBatch } from './sqs-batch.ts';

const d = wireDeployment();

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forWholeBatch(
    event,
    (record) => parseStatusMessage(record.body),
    (statuses) => recordStatusesOnce(d.committer, statuses),
  );

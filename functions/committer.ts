/** The committer: unit statuses in, commits (and their associated tasks) out, a batch at a time. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireDeployment } from '../shared/aws/deployment.ts';
import { recordStatusesOnce } from '../shared/store/committer.ts';
import { parseStatusMessage } from '../shared/store/multicast.ts';
import { forWholeBatch } from './sqs-batch.ts';

const d = wireDeployment();

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forWholeBatch(
    event,
    (record) => parseStatusMessage(record.body),
    (statuses) => recordStatusesOnce(d.committer, statuses),
  );

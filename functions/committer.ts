/** The committer: unit statuses in, commits (and their associated tasks) out. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireDeployment } from '../shared/aws/deployment.ts';
import { recordStatusOnce } from '../shared/committer.ts';
import { parseUnitStatus } from '../shared/multicast.ts';
import { forEachRecord } from './sqs-batch.ts';

const d = wireDeployment();

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forEachRecord(event, (record) => recordStatusOnce(d.committer, parseUnitStatus(record.body)));

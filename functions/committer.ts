/** The committer: unit statuses and writers' nudges in, commits (and their tasks) out, a batch at a time. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runtime } from '../shared/aws/runtime.ts';
import { wireCommitter } from '../shared/aws/store/wire.ts';
import { parseCommitterMessage, settleCommitterBatch } from '../shared/store/index.ts';
import { forWholeBatch } from './sqs-batch.ts';

const rt = runtime('store');
const deps = wireCommitter(rt);

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forWholeBatch(
    event,
    (record) => parseCommitterMessage(record.body),
    (inputs) => settleCommitterBatch(deps, inputs),
    rt.log,
  );

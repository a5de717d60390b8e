/** The committer: unit statuses and writers' nudges in, commits (and their tasks) out, a batch at a time. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireStaging } from '../shared/aws/edge/wire.ts';
import { wireContinuous } from '../shared/aws/replication/continuous-wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { wireCommitter } from '../shared/aws/store/wire.ts';
import { edgeTask } from '../shared/edge/index.ts';
import { replicationTask } from '../shared/replication/index.ts';
import {
  lateWriteTask,
  parseCommitterMessage,
  settleCommitterBatch,
} from '../shared/store/index.ts';
import { forWholeBatch } from './sqs-batch.ts';

const rt = runtime('store');
const deps = wireCommitter(rt);
// A commit in a vault with a continuous rule adds its copy to the rule's standing job.
deps.tasks.register('replication', replicationTask(wireContinuous(rt)));
// An overwrite of a key staged at edge units removes the old revision's copies there.
deps.tasks.register('edge', edgeTask(wireStaging(rt)));
// Last, so a note that fails holds up no other task: a late write told to the topology job.
deps.tasks.register('late-write', lateWriteTask({ lateWrites: deps.lateWrites, clock: rt.clock }));

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forWholeBatch(
    event,
    (record) => parseCommitterMessage(record.body),
    (inputs) => settleCommitterBatch(deps, inputs),
    rt.log,
  );

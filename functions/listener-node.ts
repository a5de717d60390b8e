/**
 * A delivery node: its FIFO queue's messages in, the event handed to each of its own listeners
 * on the matched paths, in queue order (a failed message holds back the rest of its batch).
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireListenerNode } from '../shared/aws/listeners/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { deliverOnNode, nodeMessageSchema } from '../shared/listeners/index.ts';
import { parseJsonWith } from '../shared/validate.ts';
import { listenerCrashHooks } from './listener-crash.ts';
import { forEachInOrder } from './sqs-batch.ts';

const rt = runtime('listeners');
const hooks = listenerCrashHooks(rt.env);
const deps = { ...wireListenerNode(rt), ...(hooks ? { hooks } : {}) };

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forEachInOrder(
    event,
    async (record) => {
      await deliverOnNode(deps, parseJsonWith(nodeMessageSchema, record.body));
    },
    rt.log,
  );

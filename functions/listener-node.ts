/**
 * A delivery node: its FIFO queue's messages in, the event handed to each of its own listeners
 * on the matched paths. Records run one after the other, and after the first failure the rest of
 * the batch goes back too: on a FIFO queue, a later event of the same key must not overtake it.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireListenerNode } from '../shared/aws/listeners/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { deliverOnNode, nodeMessageSchema } from '../shared/listeners/index.ts';
import { parseJsonWith } from '../shared/validate.ts';

const rt = runtime('listeners');
const deps = wireListenerNode(rt);

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  for (const [i, record] of event.Records.entries()) {
    try {
      await deliverOnNode(deps, parseJsonWith(nodeMessageSchema, record.body));
    } catch (err) {
      rt.log.error('node message failed', err, { messageId: record.messageId, node: deps.node });
      return {
        batchItemFailures: event.Records.slice(i).map((r) => ({ itemIdentifier: r.messageId })),
      };
    }
  }
  return { batchItemFailures: [] };
};

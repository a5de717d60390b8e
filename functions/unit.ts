/** A storage unit's function: the multicast messages on its queue become stored slices and statuses. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runtime } from '../shared/aws/runtime.ts';
import { wireUnit } from '../shared/aws/store/wire.ts';
import { wireUnitRefusal } from '../shared/aws/topology/wire.ts';
import { ADDRESS_ATTRIBUTE, parseUnitMessage, storeSlicesOnce } from '../shared/store/index.ts';
import { forWholeBatch } from './sqs-batch.ts';

const rt = runtime('store');
const unit = wireUnit(rt);
// A vault frozen on this unit (vault.freeze) gets its slices refused.
const deps = { ...unit, refusal: wireUnitRefusal(rt, unit.unit) };

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forWholeBatch(
    event,
    (record) => [
      {
        message: parseUnitMessage(record.body),
        attributeAddress: record.messageAttributes[ADDRESS_ATTRIBUTE]?.stringValue,
        messageId: record.messageId,
      },
    ],
    (deliveries) => storeSlicesOnce(deps, deliveries),
    rt.log,
  );

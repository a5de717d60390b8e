/** A storage unit's function: the multicast messages on its queue become stored slices and statuses. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireDeployment } from '../shared/aws/deployment.ts';
import { DynamoCounters } from '../shared/aws/store/counters.ts';
import { unitIndex } from '../shared/config.ts';
import {
  ADDRESS_ATTRIBUTE,
  parseUnitMessage,
  storeSlicesOnce,
  type UnitDelivery,
  vaultSubscriptionView,
} from '../shared/store/index.ts';
import { forWholeBatch } from './sqs-batch.ts';

const d = wireDeployment();
const unit = unitIndex();
const subscriptions = vaultSubscriptionView(d.vaults, unit);
const counters = new DynamoCounters(d.clients.documents, d.config.controlTable);

const deps = {
  unit,
  slices: d.slices,
  multicast: d.multicast,
  subscriptions,
  foreign: (why: string, delivery: UnitDelivery) => {
    console.warn(JSON.stringify({ foreign: why, messageId: delivery.messageId, unit }));
    void counters.increment(`unit/${unit}/foreign`).catch(() => {});
  },
};

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
  );

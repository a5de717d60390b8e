/** A storage unit's function: the multicast messages on its queue become stored slices and statuses. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoCounters } from '../shared/aws/counters.ts';
import { wireDeployment } from '../shared/aws/deployment.ts';
import { unitIndex } from '../shared/config.ts';
import { ADDRESS_ATTRIBUTE, parseUnitMessage } from '../shared/multicast.ts';
import { storeSlicesOnce } from '../shared/unit.ts';
import { vaultSubscriptionView } from '../shared/vault.ts';
import { forEachRecord } from './sqs-batch.ts';

const d = wireDeployment();
const unit = unitIndex();
const subscriptions = vaultSubscriptionView(d.vaults, unit);
const counters = new DynamoCounters(d.clients.documents, d.config.controlTable);

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  forEachRecord(event, async (record) => {
    await storeSlicesOnce(
      {
        unit,
        slices: d.slices,
        multicast: d.multicast,
        subscriptions,
        foreign: (why) => {
          console.warn(JSON.stringify({ foreign: why, messageId: record.messageId, unit }));
          void counters.increment(`unit/${unit}/foreign`).catch(() => {});
        },
      },
      parseUnitMessage(record.body),
      record.messageAttributes[ADDRESS_ATTRIBUTE]?.stringValue,
    );
  });

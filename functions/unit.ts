/**
 * A storage unit's function: the multicast messages on its queue become stored slices and
 * statuses, and topology proposals on it become this unit's votes.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runtime } from '../shared/aws/runtime.ts';
import { wireUnit } from '../shared/aws/store/wire.ts';
import { wireUnitRefusal, wireVoter } from '../shared/aws/topology/wire.ts';
import { ADDRESS_ATTRIBUTE, parseUnitMessage, storeSlicesOnce } from '../shared/store/index.ts';
import {
  isProposalMessage,
  parseProposalMessage,
  voteOnProposal,
} from '../shared/topology/index.ts';
import { forEachRecord, forWholeBatch } from './sqs-batch.ts';

const rt = runtime('store');
const unit = wireUnit(rt);
// A vault frozen on this unit (vault.freeze) gets its slices refused.
const deps = { ...unit, refusal: wireUnitRefusal(rt, unit.unit) };
const voter = wireVoter(rt, deps.unit);

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const proposals = event.Records.filter((r) => isProposalMessage(r.body));
  const slices = event.Records.filter((r) => !isProposalMessage(r.body));
  const [stored, voted] = await Promise.all([
    forWholeBatch(
      { Records: slices },
      (record) => [
        {
          message: parseUnitMessage(record.body),
          attributeAddress: record.messageAttributes[ADDRESS_ATTRIBUTE]?.stringValue,
          messageId: record.messageId,
        },
      ],
      (deliveries) => storeSlicesOnce(deps, deliveries),
      rt.log,
    ),
    forEachRecord(
      { Records: proposals },
      async (record) => {
        const outcome = await voteOnProposal(voter, parseProposalMessage(record.body));
        rt.log.info('topology vote', { unit: deps.unit, outcome });
      },
      { concurrent: false, log: rt.log },
    ),
  ]);
  return { batchItemFailures: [...stored.batchItemFailures, ...voted.batchItemFailures] };
};

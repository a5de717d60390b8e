/**
 * The disperser: completed staged uploads are streamed from staging through the writer. A
 * dispersal longer than one invocation goes in steps: with DSN_DISPERSER_MARGIN_SECONDS left,
 * the invocation stops at a segment boundary, records how far it came, and queues the next
 * step. The last attempt of a step before the dead-letter queue ends a failing upload
 * `failed`, with the reason.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runtime } from '../shared/aws/runtime.ts';
import { dispersalCrashHook } from '../shared/aws/store/crash.ts';
import { wireUploads, wireWriter } from '../shared/aws/store/wire.ts';
import { loadConfig } from '../shared/config.ts';
import { attemptDispersal, followUp, parseDispersalMessage } from '../shared/store/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('store');
const { writer, commitWaitMs } = wireWriter(rt);
const { disperserMarginMs, uploadFollowUpMs } = loadConfig(rt.env, [
  'disperserMarginMs',
  'uploadFollowUpMs',
]);
const crash = dispersalCrashHook(rt.env.DSN_DISPERSER_CRASH_AT);
const deps = {
  ...wireUploads(rt),
  writer,
  log: rt.log,
  followUpMs: uploadFollowUpMs,
  ...(crash ? { crash } : {}),
};

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  forEachRecord(
    event,
    async (record) => {
      const delivery = parseDispersalMessage(record.body);
      if (delivery.followUp !== undefined) {
        await followUp(deps, delivery.uploadId, delivery.followUp);
        return;
      }
      const now = rt.clock.now();
      const left = context.getRemainingTimeInMillis();
      // At least a second of segments per step, however short the function's timeout.
      const deadline = { at: now + Math.max(1000, left - disperserMarginMs), endsAt: now + left };
      await attemptDispersal(
        deps,
        delivery,
        commitWaitMs,
        {
          received: Number(record.attributes.ApproximateReceiveCount),
          max: await deps.dispersal.maxReceiveCount(),
        },
        deadline,
      );
    },
    { concurrent: false, log: rt.log },
  );

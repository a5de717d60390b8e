/**
 * The worker (seed 001). A message on the work queue names a vault with new items; the schedule
 * sweeps every vault, for items whose owner crashed (lease over) or whose nudge was lost, and
 * for orphan function slices of finished items. Each invocation runs items until none can be
 * owned or its time is nearly up.
 */
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runtime } from '../shared/aws/runtime.ts';
import { wireWorker } from '../shared/aws/work/wire.ts';
import { drainWork, parseNudge, sweepSlices } from '../shared/work/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('work');
const { deps, vaults } = wireWorker(rt);
/** Left for the op under way to record its outcome. */
const SAFETY_MS = 60_000;

export const handler = async (
  event: SQSEvent | ScheduledEvent,
  context: Context,
): Promise<SQSBatchResponse | undefined> => {
  const deadline = () =>
    rt.clock.now() + Math.max(1000, context.getRemainingTimeInMillis() - SAFETY_MS);
  if (!('Records' in event)) {
    const until = deadline();
    for (const vault of await vaults.list()) {
      const ran = await drainWork(deps, vault.name, until);
      const dropped = await sweepSlices(deps, vault.name, vault.units);
      if (ran > 0 || dropped > 0) rt.log.info('work swept', { vault: vault.name, ran, dropped });
    }
    return undefined;
  }
  return forEachRecord(
    event,
    async (record) => {
      const { vault } = parseNudge(record.body);
      const ran = await drainWork(deps, vault, deadline());
      rt.log.info('work drained', { vault, ran });
    },
    { concurrent: false, log: rt.log },
  );
};

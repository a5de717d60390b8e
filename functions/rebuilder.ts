/**
 * The rebuilder. On its schedule it starts a rebuild of every vault (a running one goes on);
 * each message on the rebuild queue is one step of a vault's job, and an unfinished job asks
 * for the next step before this invocation ends.
 */
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireRebuilder } from '../shared/aws/repair/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { parseRebuildMessage, runRebuildStep, startRebuild } from '../shared/repair/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('repair');
const deps = wireRebuilder(rt);
/** Left for the last checkpoint and the next step's message. */
const SAFETY_MS = 20_000;

export const handler = async (
  event: SQSEvent | ScheduledEvent,
  context: Context,
): Promise<SQSBatchResponse | undefined> => {
  if (!('Records' in event)) {
    for (const vault of await deps.vaults.list()) {
      const job = await startRebuild(deps, vault.name, { restart: false, stepSegments: 0 });
      rt.log.info('rebuild started', { rebuild: vault.name, job: job.id, state: job.state });
    }
    return undefined;
  }
  return forEachRecord(
    event,
    async (record) => {
      const { vault, id } = parseRebuildMessage(record.body);
      const deadline =
        rt.clock.now() + Math.max(1000, context.getRemainingTimeInMillis() - SAFETY_MS);
      const { job, more } = await runRebuildStep(deps, vault, id, deadline);
      if (more) await deps.trigger.continue(vault, id);
      if (job) rt.log.info('rebuild step', { rebuild: vault, job: id, phase: job.phase, more });
    },
    { concurrent: false, log: rt.log },
  );
};

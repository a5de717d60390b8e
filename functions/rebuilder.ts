/**
 * The rebuilder. On its schedule it starts a rebuild of every vault (a running one goes on);
 * each message on the rebuild queue is one step of a vault's job, and an unfinished job asks
 * for the next step before this invocation ends.
 */
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireRebuilder } from '../shared/aws/repair/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { wireRoles } from '../shared/aws/topology/wire.ts';
import { parseRebuildMessage, runRebuildStep, startRebuild } from '../shared/repair/index.ts';
import { withRole } from '../shared/topology/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('repair');
const deps = wireRebuilder(rt);
// The scheduler (one at a time: the `rebuild-scheduler` role) starts jobs through fenced writes.
const { roles, fenced } = wireRoles(rt, 'rebuild-scheduler');
const scheduler = wireRebuilder(fenced);
/** Left for the last checkpoint and the next step's message. */
const SAFETY_MS = 20_000;

export const handler = async (
  event: SQSEvent | ScheduledEvent,
  context: Context,
): Promise<SQSBatchResponse | undefined> => {
  if (!('Records' in event)) {
    const run = await withRole(roles, 'rebuild-scheduler', async (role) => {
      for (const vault of await scheduler.vaults.list()) {
        await role.renew();
        const job = await startRebuild(scheduler, vault.name, { restart: false, stepSegments: 0 });
        rt.log.info('rebuild started', { rebuild: vault.name, job: job.id, state: job.state });
      }
    });
    if (!run.ran)
      rt.log.info('rebuild scheduler role held elsewhere', { holder: run.heldBy?.holder });
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

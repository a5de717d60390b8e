/**
 * The topology applier's job runner: each message on the topology queue is one step of a vault's
 * replace or re-stripe job; an unfinished job asks for the next step before this invocation
 * ends. On its schedule it resumes a running job whose holder died (its lease expired), as the
 * holder of the `topology-applier` role: one resumer at a time in the deployment.
 */
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runtime } from '../shared/aws/runtime.ts';
import { wireMover, wireRoles } from '../shared/aws/topology/wire.ts';
import {
  parseTopologyJobMessage,
  resumeTopologyJobs,
  runTopologyJobStep,
  withRole,
} from '../shared/topology/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('topology');
const deps = wireMover(rt);
const { roles } = wireRoles(rt, 'topology-applier');
/** Left for the last checkpoint and the next step's message. */
const SAFETY_MS = 20_000;

export const handler = async (
  event: SQSEvent | ScheduledEvent,
  context: Context,
): Promise<SQSBatchResponse | undefined> => {
  if (!('Records' in event)) {
    const run = await withRole(roles, 'topology-applier', () => resumeTopologyJobs(deps));
    if (!run.ran)
      rt.log.info('topology-applier role held elsewhere', { holder: run.heldBy?.holder });
    else if (run.result.length > 0) rt.log.info('topology jobs resumed', { vaults: run.result });
    return undefined;
  }
  return forEachRecord(
    event,
    async (record) => {
      const { vault, id } = parseTopologyJobMessage(record.body);
      const deadline =
        rt.clock.now() + Math.max(1000, context.getRemainingTimeInMillis() - SAFETY_MS);
      const { job, more } = await runTopologyJobStep(deps, vault, id, deadline);
      if (more) await deps.trigger.continue(vault, id);
      if (job) rt.log.info('topology job step', { vault, job: id, phase: job.phase, more });
    },
    { concurrent: false, log: rt.log },
  );
};

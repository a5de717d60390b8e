/**
 * The rebuilder. On its schedule it starts a rebuild of every vault (a running one goes on);
 * each message on the rebuild queue is one step of a vault's job, and an unfinished job asks
 * for the next step before this invocation ends.
 */
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wireDeployment } from '../shared/aws/deployment.ts';
import {
  parseRebuildMessage,
  runRebuildStep,
  startRebuild,
  Throttle,
} from '../shared/repair/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const d = wireDeployment();
const deps = {
  index: d.index,
  slices: d.slices,
  ledger: d.ledger,
  vaults: d.vaults,
  events: d.events,
  inbox: d.repair,
  jobs: d.rebuildJobs,
  trigger: d.rebuildTrigger,
  throttle: new Throttle(d.config.rebuildBytesPerSecond),
  orphanAgeMs: d.config.pendingTimeoutMs,
  log: (line: Record<string, unknown>) =>
    (line.level === 'error' ? console.error : console.log)(JSON.stringify(line)),
};
/** Left for the last checkpoint and the next step's message. */
const SAFETY_MS = 20_000;

export const handler = async (
  event: SQSEvent | ScheduledEvent,
  context: Context,
): Promise<SQSBatchResponse | undefined> => {
  if (!('Records' in event)) {
    for (const vault of await d.vaults.list()) {
      const job = await startRebuild(deps, vault.name, { restart: false, stepSegments: 0 });
      console.log(JSON.stringify({ rebuild: vault.name, job: job.id, state: job.state }));
    }
    return undefined;
  }
  return forEachRecord(
    event,
    async (record) => {
      const { vault, id } = parseRebuildMessage(record.body);
      const deadline = Date.now() + Math.max(1000, context.getRemainingTimeInMillis() - SAFETY_MS);
      const { job, more } = await runRebuildStep(deps, vault, id, deadline);
      if (more) await d.rebuildTrigger.continue(vault, id);
      if (job) console.log(JSON.stringify({ rebuild: vault, job: id, phase: job.phase, more }));
    },
    { concurrent: false },
  );
};

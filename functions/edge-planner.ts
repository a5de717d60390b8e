/**
 * The edge planner (shared/edge/planner.ts): on its schedule, every group; on a request from
 * `POST /admin/edge/plan` (its queue), the group named or every group. One run at a time, in
 * the whole deployment: each runs as the holder of the `edge-planner` role, its edge-table
 * writes fenced by the role's token, so a run that outlived its lease cannot stage or evict
 * against the next one. A scheduled run finding the role held skips (the holder is planning);
 * a requested run waits for it, then fails its record for a redelivery if it never came.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wirePlanner } from '../shared/aws/edge/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { wireRoles } from '../shared/aws/topology/wire.ts';
import { parsePlanRequest, runPlanner } from '../shared/edge/index.ts';
import { withRole } from '../shared/topology/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('edge');
const { roles, fenced } = wireRoles(rt, 'edge-planner');
const deps = wirePlanner(fenced);
/** How long a requested run waits for a run in progress elsewhere to end. */
const REQUEST_WAIT_MS = 90_000;
const RETRY_EVERY_MS = 1_000;

const plan = (group?: string) => withRole(roles, 'edge-planner', () => runPlanner(deps, group));

export const handler = async (event: SQSEvent | object): Promise<SQSBatchResponse | object> => {
  if ('Records' in event && Array.isArray(event.Records))
    return forEachRecord(
      event as SQSEvent,
      async (record) => {
        const group = parsePlanRequest(record.body).group;
        const giveUpAt = rt.clock.now() + REQUEST_WAIT_MS;
        for (;;) {
          const run = await plan(group);
          if (run.ran) {
            rt.log.info('edge planning run', { run: run.result, token: run.token });
            return;
          }
          if (rt.clock.now() >= giveUpAt)
            throw new Error(
              `the edge-planner role stayed held by ${run.heldBy?.holder ?? 'another run'} for ${REQUEST_WAIT_MS / 1000} s`,
            );
          await sleep(RETRY_EVERY_MS);
        }
      },
      { concurrent: false, log: rt.log },
    );
  const run = await plan();
  if (!run.ran) {
    rt.log.info('edge planner role held elsewhere', { holder: run.heldBy?.holder });
    return { skipped: 'edge-planner role held elsewhere' };
  }
  rt.log.info('edge planning run', { run: run.result, token: run.token });
  return run.result;
};

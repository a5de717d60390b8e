/**
 * The edge planner (shared/edge/planner.ts): on its schedule, every group; on a request from
 * `POST /admin/edge/plan` (its queue), the group named or every group.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { wirePlanner } from '../shared/aws/edge/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { parsePlanRequest, runPlanner } from '../shared/edge/index.ts';
import { forEachRecord } from './sqs-batch.ts';

const rt = runtime('edge');
const deps = wirePlanner(rt);

export const handler = async (event: SQSEvent | object): Promise<SQSBatchResponse | object> => {
  if ('Records' in event && Array.isArray(event.Records))
    return forEachRecord(
      event as SQSEvent,
      async (record) => {
        const run = await runPlanner(deps, parsePlanRequest(record.body).group);
        rt.log.info('edge planning run', { run });
      },
      { concurrent: false, log: rt.log },
    );
  const run = await runPlanner(deps);
  rt.log.info('edge planning run', { run });
  return run;
};

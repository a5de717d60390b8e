/** The replication controller: one step of the state machine per invocation (plan, dispatch, wait, finalize). */
import { wireReplicationController } from '../shared/aws/replication/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { parseControllerInput, runControllerStep } from '../shared/replication/index.ts';

const rt = runtime('replication');
const deps = wireReplicationController(rt);

export const handler = (event: unknown) => {
  const { step, jobId, watchSeconds } = parseControllerInput(event);
  return runControllerStep(deps, step, jobId, (watchSeconds ?? 0) * 1000);
};

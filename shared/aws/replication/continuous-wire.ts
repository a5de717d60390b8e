/**
 * The wiring of continuous replication, apart from wire.ts so the store's functions (the
 * committer, the api's delete path) can take it without the store's own wiring: what adding a
 * key's task to a standing job takes.
 */
import { loadConfig } from '../../config.ts';
import type { ContinuousDeps } from '../../replication/index.ts';
import type { Runtime } from '../runtime.ts';
import { SqsWorkerQueues } from './queues.ts';
import { DynamoReplicationLog } from './replication-log.ts';

export function wireContinuous(rt: Runtime): ContinuousDeps {
  const config = loadConfig(rt.env, [
    'replicationTable',
    'replicationWorkerQueueUrls',
    'replicationPartBytes',
  ]);
  return {
    log: new DynamoReplicationLog(rt.clients.documents, config.replicationTable),
    queues: new SqsWorkerQueues(rt.clients.sqs, config.replicationWorkerQueueUrls),
    clock: rt.clock,
    partSize: config.replicationPartBytes,
  };
}

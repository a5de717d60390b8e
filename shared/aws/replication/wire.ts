/**
 * The replication system's wiring: the HTTP API's job control, the controller's steps, the
 * workers, and the status log's consumer. Each reads only its own configuration.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig, replicationWorkerIndex } from '../../config.ts';
import { everyBus, listenerBus } from '../../listeners/index.ts';
import {
  type ControllerDeps,
  heldJobReads,
  isVaultSide,
  type JobsDeps,
  type ObjectSide,
  type Side,
  type SideOpener,
  type StatusLogDeps,
  vaultSide,
  type WorkerBatchDeps,
} from '../../replication/index.ts';
import { tombstoneLifetimeMs } from '../../store/index.ts';
import { SDK_CLIENT_OPTIONS } from '../clients.ts';
import { wireFanOut } from '../listeners/wire.ts';
import type { Runtime } from '../runtime.ts';
import { SnsEventBus } from '../store/events.ts';
import { wireReader, wireUploads, wireVaults, wireWriter } from '../store/wire.ts';
import { wireRoles } from '../topology/wire.ts';
import { bucketClient, bucketSide } from './bucket-side.ts';
import { crashHook } from './crash.ts';
import { SfnController } from './executions.ts';
import { SqsStatusQueue, SqsWorkerInbox, SqsWorkerQueues } from './queues.ts';
import { DynamoReplicationLog } from './replication-log.ts';
import { secretCredentials } from './secret-credentials.ts';
import { slowTaskHook } from './slow-task.ts';

/** How long a multi-part copy into a vault waits for the dispersal of its staged parts. */
const DISPERSAL_WAIT_MS = 10 * 60 * 1000;

function wireLog(rt: Runtime) {
  const { replicationTable } = loadConfig(rt.env, ['replicationTable']);
  return new DynamoReplicationLog(rt.clients.documents, replicationTable);
}

/** Opens either end: a vault through the store, a bucket through S3. */
function wireSides(rt: Runtime, withWrites: boolean): SideOpener {
  let vaults: ((vault: string) => ObjectSide) | undefined;
  // Only a side naming a secret reaches Secrets Manager: its client is made on first use.
  let secrets: SecretsManagerClient | undefined;
  const credentialsOf = secretCredentials(
    () => {
      secrets ??= new SecretsManagerClient({ ...SDK_CLIENT_OPTIONS });
      return secrets;
    },
    () => rt.clock.now(),
  );
  const vaultOf = () => {
    if (!vaults) {
      const reader = wireReader(rt);
      const { writer, commitWaitMs } = wireWriter(rt);
      const uploads = wireUploads(rt);
      const deleter = withWrites
        ? {
            vaults: writer.vaults,
            index: reader.index,
            ledger: writer.ledger,
            events: everyBus(
              new SnsEventBus(
                rt.clients.sns,
                loadConfig(rt.env, ['eventsTopicArn']).eventsTopicArn,
              ),
              listenerBus(wireFanOut(rt)),
            ),
            clock: rt.clock,
            tombstoneMs: tombstoneLifetimeMs(writer.pendingTimeoutMs),
          }
        : undefined;
      const deps = {
        reader,
        writer,
        uploads,
        ...(deleter ? { deleter } : {}),
        clock: rt.clock,
        commitWaitMs,
        dispersalWaitMs: DISPERSAL_WAIT_MS,
      };
      vaults = (vault) => vaultSide(deps, vault);
    }
    return vaults;
  };
  return (side: Side) =>
    isVaultSide(side)
      ? vaultOf()(side.vault)
      : bucketSide(bucketClient(rt.clients.s3, side, credentialsOf), side.bucket);
}

/** The HTTP API's job control. */
export function wireReplicationJobs(rt: Runtime): JobsDeps {
  const config = loadConfig(rt.env, [
    'replicationStateMachineArn',
    'replicationWorkerQueueUrls',
    'replicationPartBytes',
  ]);
  return {
    log: wireLog(rt),
    controller: new SfnController(rt.clients.sfn, config.replicationStateMachineArn),
    queues: new SqsWorkerQueues(rt.clients.sqs, config.replicationWorkerQueueUrls),
    vaults: wireVaults(rt),
    clock: rt.clock,
    workers: config.replicationWorkerQueueUrls.length,
    partSize: config.replicationPartBytes,
  };
}

/** The controller's steps (plan lists both ends; dispatch sends to the workers' queues). */
export function wireReplicationController(rt: Runtime): ControllerDeps {
  const config = loadConfig(rt.env, ['replicationWorkerQueueUrls']);
  // The log's writes made while rebalancing carry the rebalancer role's token.
  const { roles, fenced } = wireRoles(rt, 'replication-controller');
  return {
    roles,
    log: wireLog(fenced),
    sides: wireSides(rt, false),
    queues: new SqsWorkerQueues(rt.clients.sqs, config.replicationWorkerQueueUrls),
    clock: rt.clock,
    logger: rt.log,
    crash: crashHook(rt.env.DSN_REPLICATION_CRASH_AT),
  };
}

/**
 * A worker: its index, both ends, the status queue and its own queue; `remainingMs` comes per
 * invocation.
 */
export function wireReplicationWorker(rt: Runtime): Omit<WorkerBatchDeps, 'remainingMs'> {
  const config = loadConfig(rt.env, [
    'replicationStatusQueueUrl',
    'replicationDeadlineMarginMs',
    'replicationWorkerQueueUrls',
  ]);
  const log = wireLog(rt);
  const worker = replicationWorkerIndex(rt.env);
  const ownQueue = config.replicationWorkerQueueUrls[worker];
  if (!ownQueue)
    throw new Error(`DSN_REPLICATION_WORKER_QUEUE_URLS: no queue for replication worker ${worker}`);
  return {
    worker,
    inbox: new SqsWorkerInbox(rt.clients.sqs, ownQueue),
    log: {
      getJob: heldJobReads(log, rt.clock),
      getTask: (job, task) => log.getTask(job, task),
      claimTask: (job, task, claim) => log.claimTask(job, task, claim),
      restartUpload: (job, task, attempt, uploadId) =>
        log.restartUpload(job, task, attempt, uploadId),
    },
    sides: wireSides(rt, true),
    statuses: new SqsStatusQueue(rt.clients.sqs, config.replicationStatusQueueUrl),
    clock: rt.clock,
    logger: rt.log,
    crash: crashHook(rt.env.DSN_REPLICATION_CRASH_AT),
    slowTask: slowTaskHook(rt.env.DSN_REPLICATION_SLOW_TASK_MS, rt.clock),
    deadlineMarginMs: config.replicationDeadlineMarginMs,
  };
}

/** The status queue's consumer, which also sends a migrated copy's remainder. */
export function wireReplicationStatusLog(rt: Runtime): StatusLogDeps {
  const config = loadConfig(rt.env, ['replicationWorkerQueueUrls']);
  return {
    log: wireLog(rt),
    queues: new SqsWorkerQueues(rt.clients.sqs, config.replicationWorkerQueueUrls),
    logger: rt.log,
  };
}

/**
 * The repair system's wiring: the rebuilder's function, and what the HTTP API needs to start
 * and show rebuilds and to explain an object. Each reads only its own configuration.
 */
import { loadConfig, POOL_SECTION } from '../../config.ts';
import { everyBus, listenerBus } from '../../listeners/index.ts';
import type { RebuilderDeps } from '../../repair/index.ts';
import { Throttle } from '../../repair/index.ts';
import { CachingVaultStore } from '../../store/index.ts';
import { wireFanOut } from '../listeners/wire.ts';
import type { Runtime } from '../runtime.ts';
import { SnsEventBus } from '../store/events.ts';
import { DynamoLedger } from '../store/ledger.ts';
import { DynamoObjectIndex } from '../store/object-index.ts';
import { S3SliceStore } from '../store/slice-store.ts';
import { DynamoVaultStore } from '../store/vault-store.ts';
import { unitClients } from '../store/wire.ts';
import { DynamoRebuildJobStore } from './rebuild-jobs.ts';
import { SqsRebuildTrigger } from './rebuild-trigger.ts';
import { SqsRepairLog } from './repair-log.ts';

/** Rebuild jobs and their trigger, with the vaults they are for: starting and showing a job. */
export function wireRebuildControl(rt: Runtime) {
  const config = loadConfig(rt.env, ['vaultsTable', 'controlTable', 'rebuildQueueUrl']);
  return {
    vaults: new CachingVaultStore(new DynamoVaultStore(rt.clients.documents, config.vaultsTable), {
      clock: rt.clock,
    }),
    jobs: new DynamoRebuildJobStore(rt.clients.documents, config.controlTable),
    trigger: new SqsRebuildTrigger(rt.clients.sqs, config.rebuildQueueUrl),
    clock: rt.clock,
  };
}

/** Explain: the index, the units, and the bucket each unit is. */
export function wireExplain(rt: Runtime) {
  const config = loadConfig(rt.env, ['objectsTable', ...POOL_SECTION]);
  return {
    index: new DynamoObjectIndex(rt.clients.documents, config.objectsTable),
    slices: new S3SliceStore(unitClients(rt, config), config.unitBuckets),
    bucketOf: (unit: number) => config.unitBuckets[unit] ?? '',
  };
}

/** The rebuilder: everything a scrub, a repair and an orphan sweep touch. */
export function wireRebuilder(rt: Runtime): RebuilderDeps {
  const config = loadConfig(rt.env, [
    'revisionsTable',
    'eventsTopicArn',
    'repairQueueUrl',
    'rebuildBytesPerSecond',
    'pendingTimeoutMs',
  ]);
  const control = wireRebuildControl(rt);
  const explain = wireExplain(rt);
  return {
    index: explain.index,
    slices: explain.slices,
    ledger: new DynamoLedger(rt.clients.documents, config.revisionsTable),
    vaults: control.vaults,
    events: everyBus(
      new SnsEventBus(rt.clients.sns, config.eventsTopicArn),
      listenerBus(wireFanOut(rt)),
    ),
    inbox: new SqsRepairLog(rt.clients.sqs, config.repairQueueUrl, rt.log),
    jobs: control.jobs,
    trigger: control.trigger,
    throttle: new Throttle(config.rebuildBytesPerSecond),
    orphanAgeMs: config.pendingTimeoutMs,
    log: rt.log,
    clock: rt.clock,
  };
}

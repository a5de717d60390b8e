/**
 * The repair system's wiring: the rebuilder's function, and what the HTTP API needs to start
 * and show rebuilds and to explain an object. Each reads only its own configuration.
 */
import { loadConfig } from '../../config.ts';
import { everyBus, listenerBus } from '../../listeners/index.ts';
import type { ExplainDeps, RebuilderDeps } from '../../repair/index.ts';
import { Throttle } from '../../repair/index.ts';
import { wireFanOut } from '../listeners/wire.ts';
import type { Runtime } from '../runtime.ts';
import { SnsEventBus } from '../store/events.ts';
import { DynamoLedger } from '../store/ledger.ts';
import { DynamoObjectIndex } from '../store/object-index.ts';
import { wireSlices, wireVaults } from '../store/wire.ts';
import { DynamoTopologyStore } from '../topology/topology-store.ts';
import { DynamoRebuildJobStore } from './rebuild-jobs.ts';
import { SqsRebuildTrigger } from './rebuild-trigger.ts';
import { SqsRepairLog } from './repair-log.ts';

/** Rebuild jobs and their trigger, with the vaults they are for: starting and showing a job. */
export function wireRebuildControl(rt: Runtime) {
  const config = loadConfig(rt.env, ['controlTable', 'rebuildQueueUrl']);
  return {
    vaults: wireVaults(rt),
    jobs: new DynamoRebuildJobStore(rt.clients.documents, config.controlTable),
    trigger: new SqsRebuildTrigger(rt.clients.sqs, config.rebuildQueueUrl),
    clock: rt.clock,
  };
}

/** Explain: the index, the units, the bucket each unit is, and the vault's topologies. */
export function wireExplain(rt: Runtime) {
  const config = loadConfig(rt.env, ['objectsTable', 'controlTable', 'vaultsTable']);
  const { pool, slices } = wireSlices(rt);
  return {
    index: new DynamoObjectIndex(rt.clients.documents, config.objectsTable),
    slices,
    bucketOf: (unit: number) => pool.unitBuckets[unit] ?? '',
    topologies: new DynamoTopologyStore(
      rt.clients.documents,
      config.controlTable,
      config.vaultsTable,
    ),
  } satisfies ExplainDeps;
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

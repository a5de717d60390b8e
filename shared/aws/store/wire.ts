/**
 * The store's wiring: each function of the store gets the adapters it uses and reads only the
 * configuration they need (a unit function starts without the rebuild queue's variables).
 * Adapters are cheap objects over the process's shared SDK clients; the units' regional S3
 * clients and the vault cache are built once per runtime (wireSlices, wireVaults), however
 * many wiring functions of that runtime use them.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { type DsnConfig, loadConfig, POOL_SECTION, unitIndex } from '../../config.ts';
import { everyBus, listenerBus, listenerTask } from '../../listeners/index.ts';
import {
  CachingVaultStore,
  CommitPace,
  type CommitterDeps,
  type DeleterDeps,
  type DispersalDeps,
  defaultTasks,
  type JanitorDeps,
  type LateWrites,
  type PendingUploadDeps,
  type ReaderDeps,
  tombstoneLifetimeMs,
  topologyOf,
  topologyView,
  type UnitDelivery,
  type UploadDeps,
  vaultSubscriptionView,
  type WriterDeps,
} from '../../store/index.ts';
import { wireScanTask, wireWriteScanner } from '../access/wire.ts';
import { SDK_CLIENT_OPTIONS, signChecksummedPayloadsOnce } from '../clients.ts';
import { wireFanOut } from '../listeners/wire.ts';
import { SqsRepairLog } from '../repair/repair-log.ts';
import type { Runtime } from '../runtime.ts';
import { DynamoTopologyJobStore } from '../topology/jobs.ts';
import { DynamoCounters } from './counters.ts';
import { SqsDispersalQueue } from './dispersal-queue.ts';
import { SnsEventBus } from './events.ts';
import { DynamoLedger } from './ledger.ts';
import { SnsMulticast } from './multicast.ts';
import { DynamoObjectIndex } from './object-index.ts';
import { DynamoReadGrantStore } from './read-grants.ts';
import { S3SlicePresigner } from './slice-presigner.ts';
import { S3SliceStore } from './slice-store.ts';
import { S3StagingStore } from './staging.ts';
import { DynamoUploadStore } from './upload-store.ts';
import { DynamoVaultStore } from './vault-store.ts';

/** How long a read waits for a slice before asking one more pillar. */
const HEDGE_MS = 250;

/** `build(rt)` once per runtime: later calls with the same runtime get the same value. */
function perRuntime<T>(build: (rt: Runtime) => T): (rt: Runtime) => T {
  const built = new WeakMap<Runtime, T>();
  return (rt) => {
    let value = built.get(rt);
    if (value === undefined) {
      value = build(rt);
      built.set(rt, value);
    }
    return value;
  };
}

/**
 * One S3 client per region the units live in (S3 redirects a request sent to the wrong one).
 * Slices carry their own CRC-32, which every read checks (decodeSlice): the SDK's check of S3's
 * stored checksum on responses would hash every byte a second time, so slice clients leave it
 * off. Writes still send the CRC-32 for S3 to verify on arrival.
 */
function unitClients(rt: Runtime, pool: Pick<DsnConfig, 'unitRegions'>): readonly S3Client[] {
  const regional = new Map<string, S3Client>();
  return pool.unitRegions.map((region) => {
    let client = regional.get(region);
    if (!client) {
      client = signChecksummedPayloadsOnce(
        new S3Client({
          ...SDK_CLIENT_OPTIONS,
          region,
          forcePathStyle: rt.clients.s3.config.forcePathStyle,
          responseChecksumValidation: 'WHEN_REQUIRED',
        }),
      );
      regional.set(region, client);
    }
    return client;
  });
}

/** The pool, its units' clients (`unitS3[i]` reaches unit i) and the slice store over them. */
export const wireSlices = perRuntime((rt) => {
  const pool = loadConfig(rt.env, POOL_SECTION);
  const unitS3 = unitClients(rt, pool);
  return { pool, unitS3, slices: new S3SliceStore(unitS3, pool.unitBuckets) };
});

/** The vaults, through the runtime's one cache. */
export const wireVaults = perRuntime((rt) => {
  const { vaultsTable } = loadConfig(rt.env, ['vaultsTable']);
  return new CachingVaultStore(new DynamoVaultStore(rt.clients.documents, vaultsTable), {
    clock: rt.clock,
  });
});

/**
 * A vault's current topology, read from its record (not through the vaults' cache) at most a
 * second old (`topologyView`): what units and the committer fence superseded writes by.
 */
const wireTopologyView = perRuntime((rt) => {
  const { vaultsTable } = loadConfig(rt.env, ['vaultsTable']);
  const vaults = new DynamoVaultStore(rt.clients.documents, vaultsTable);
  return topologyView(rt.clock, async (vault: string) => topologyOf(await vaults.get(vault)));
});

/** A storage unit's function: its index, and what storing slices and sending statuses takes. */
export function wireUnit(rt: Runtime) {
  const unit = unitIndex(rt.env);
  const config = loadConfig(rt.env, [
    'networkTopicArn',
    'statusTopicArn',
    'controlTable',
    'vaultsTable',
  ]);
  const counters = new DynamoCounters(rt.clients.documents, config.controlTable);
  return {
    unit,
    /** A unit that missed a vote still refuses superseded writes. */
    currentTopology: wireTopologyView(rt),
    slices: wireSlices(rt).slices,
    multicast: new SnsMulticast(rt.clients.sns, config.networkTopicArn, config.statusTopicArn),
    subscriptions: vaultSubscriptionView(wireVaults(rt), unit),
    /** Counted in the control table and logged; a failed count is logged, never thrown. */
    foreign: (why: string, delivery: UnitDelivery) => {
      rt.log.warn('foreign message ignored', { foreign: why, messageId: delivery.messageId, unit });
      counters
        .increment(`unit/${unit}/foreign`)
        .catch((err) => rt.log.error('foreign counter not updated', err, { unit }));
    },
    /** Counted in the control table and logged, like foreign messages. */
    conflict: (sliceName: string) => {
      rt.log.warn('slice refused: other bytes hold its name', { slice: sliceName, unit });
      counters
        .increment(`unit/${unit}/conflicts`)
        .catch((err) => rt.log.error('conflict counter not updated', err, { unit }));
    },
  };
}

/** The committer: the ledger, and the associated tasks with the ports they capture. */
export function wireCommitter(rt: Runtime): CommitterDeps & { lateWrites: LateWrites } {
  const config = loadConfig(rt.env, [
    'revisionsTable',
    'objectsTable',
    'eventsTopicArn',
    'controlTable',
  ]);
  const ledger = new DynamoLedger(rt.clients.documents, config.revisionsTable);
  const index = new DynamoObjectIndex(rt.clients.documents, config.objectsTable);
  const events = new SnsEventBus(rt.clients.sns, config.eventsTopicArn);
  const currentTopology = wireTopologyView(rt);
  // Jobs are the control table's; the committer only notes late writes beside them.
  const jobs = new DynamoTopologyJobStore(rt.clients.documents, config.controlTable);
  const lateWrites = {
    currentTopology,
    note: (vault: string, id: string) => jobs.noteLateWrite(vault, id),
  };
  const tasks = defaultTasks({ index, ledger, events, clock: rt.clock })
    .register('listeners', listenerTask(wireFanOut(rt)))
    .register('scan', wireScanTask(rt, wireReader(rt)));
  return { ledger, tasks, clock: rt.clock, currentTopology, lateWrites };
}

/** The writers' scanner, once per runtime: one cache of the uploaded rules however many writers. */
const writeScannerOf = perRuntime((rt) => ({ scan: wireWriteScanner(rt) }));

/** The writer (api and disperser), and how long a write waits for its commit. */
export function wireWriter(rt: Runtime) {
  const config = loadConfig(rt.env, [
    'revisionsTable',
    'objectsTable',
    'networkTopicArn',
    'statusTopicArn',
    'pendingTimeoutMs',
    'commitWaitMs',
  ]);
  const writer: WriterDeps = {
    vaults: wireVaults(rt),
    ledger: new DynamoLedger(rt.clients.documents, config.revisionsTable),
    index: new DynamoObjectIndex(rt.clients.documents, config.objectsTable),
    slices: wireSlices(rt).slices,
    multicast: new SnsMulticast(rt.clients.sns, config.networkTopicArn, config.statusTopicArn),
    clock: rt.clock,
    pendingTimeoutMs: config.pendingTimeoutMs,
    // One per sandbox: the commits this process has seen.
    pace: new CommitPace(),
  };
  const { scan } = writeScannerOf(rt);
  if (scan) writer.scan = scan;
  return { writer, commitWaitMs: config.commitWaitMs };
}

/**
 * The S3 client that signs presigned part URLs: like the runtime's, but adding no checksum of
 * its own, which would bind a URL to the checksum of an empty body.
 */
const wirePresigner = perRuntime(
  (rt) =>
    new S3Client({
      ...SDK_CLIENT_OPTIONS,
      forcePathStyle: rt.clients.s3.config.forcePathStyle,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    }),
);

/**
 * Client-side dispersal: the writer's ports, and a presigner per unit region whose clients add
 * no checksum of their own (the slice's is signed in; see presign.ts).
 */
export function wireDispersals(rt: Runtime): DispersalDeps {
  const { writer } = wireWriter(rt);
  const { pool } = wireSlices(rt);
  const regional = new Map<string, S3Client>();
  const clients = pool.unitRegions.map((region) => {
    let client = regional.get(region);
    if (!client) {
      client = new S3Client({
        ...SDK_CLIENT_OPTIONS,
        region,
        forcePathStyle: rt.clients.s3.config.forcePathStyle,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      });
      regional.set(region, client);
    }
    return client;
  });
  return {
    vaults: writer.vaults,
    ledger: writer.ledger,
    index: writer.index,
    multicast: writer.multicast,
    presigner: new S3SlicePresigner(clients, pool.unitBuckets),
    clock: rt.clock,
    pendingTimeoutMs: writer.pendingTimeoutMs,
  };
}

/** Staged uploads: records, staging bucket, the dispersal queue, and the revisions they write. */
export function wireUploads(
  rt: Runtime,
): UploadDeps & { dispersal: SqsDispersalQueue; revisions: PendingUploadDeps['revisions'] } {
  const config = loadConfig(rt.env, [
    'controlTable',
    'stagingBucket',
    'dispersalQueueUrl',
    'revisionsTable',
    'objectsTable',
  ]);
  const staging = new S3StagingStore(rt.clients.s3, config.stagingBucket, wirePresigner(rt));
  return {
    vaults: wireVaults(rt),
    uploads: new DynamoUploadStore(rt.clients.documents, config.controlTable),
    staging,
    multipart: staging,
    dispersal: new SqsDispersalQueue(rt.clients.sqs, config.dispersalQueueUrl),
    clock: rt.clock,
    // A look at a pending upload follows its revision.
    revisions: {
      ledger: new DynamoLedger(rt.clients.documents, config.revisionsTable),
      index: new DynamoObjectIndex(rt.clients.documents, config.objectsTable),
    },
  };
}

/** The janitor: revisions due for cleanup, and the units holding their slices. */
export function wireJanitor(rt: Runtime): JanitorDeps {
  const { revisionsTable } = loadConfig(rt.env, ['revisionsTable']);
  return {
    ledger: new DynamoLedger(rt.clients.documents, revisionsTable),
    slices: wireSlices(rt).slices,
    clock: rt.clock,
  };
}

/** Reads: the index, the units, and where reads report the damage they meet. */
export function wireReader(rt: Runtime): ReaderDeps {
  const config = loadConfig(rt.env, ['objectsTable', 'repairQueueUrl']);
  return {
    index: new DynamoObjectIndex(rt.clients.documents, config.objectsTable),
    slices: wireSlices(rt).slices,
    repair: new SqsRepairLog(rt.clients.sqs, config.repairQueueUrl, rt.log),
    hedgeMs: HEDGE_MS,
    log: rt.log,
    clock: rt.clock,
  };
}

/** The reader function: read grants, and reads. */
export function wireGrantedReader(rt: Runtime) {
  const { controlTable } = loadConfig(rt.env, ['controlTable']);
  return {
    reader: wireReader(rt),
    grants: {
      grants: new DynamoReadGrantStore(rt.clients.documents, controlTable),
      clock: rt.clock,
    },
  };
}

/** Everything the HTTP API serves of the store: vaults, reads, writes, deletes, revisions. */
export function wireStoreApi(rt: Runtime) {
  const config = loadConfig(rt.env, [
    'stage',
    'vaultsTable',
    'revisionsTable',
    'objectsTable',
    'eventsTopicArn',
    'networkTopicArn',
    'statusTopicArn',
    'repairQueueUrl',
    'dataMemoryBytes',
    'controlTable',
    'readerUrl',
    'edgeUnits',
  ]);
  const { pool, unitS3 } = wireSlices(rt);
  const { writer, commitWaitMs } = wireWriter(rt);
  const reader = wireReader(rt);
  const dispersals = wireDispersals(rt);
  const deleter: DeleterDeps = {
    vaults: writer.vaults,
    index: reader.index,
    ledger: writer.ledger,
    events: everyBus(
      new SnsEventBus(rt.clients.sns, config.eventsTopicArn),
      listenerBus(wireFanOut(rt)),
    ),
    clock: rt.clock,
    tombstoneMs: tombstoneLifetimeMs(writer.pendingTimeoutMs),
  };
  return {
    config: { ...config, ...pool, commitWaitMs },
    unitS3,
    vaults: writer.vaults,
    /** Uncached: a new vault goes on the least used units, counted from every vault. */
    catalog: new DynamoVaultStore(rt.clients.documents, config.vaultsTable),
    poolSize: pool.unitBuckets.length,
    edgeUnits: config.edgeUnits,
    memoryBytes: config.dataMemoryBytes,
    clock: rt.clock,
    writer,
    commitWaitMs,
    reader,
    deleter,
    ledger: writer.ledger,
    uploads: wireUploads(rt),
    dispersals,
    /** Clients' own reads: presigned GETs of slices; the damage they meet, to the rebuilder. */
    retrievals: {
      index: reader.index,
      presigner: dispersals.presigner,
      repair: reader.repair,
      clock: rt.clock,
    },
    /** Reads above the payload limit go to the reader function, with a grant. */
    grants: {
      grants: new DynamoReadGrantStore(rt.clients.documents, config.controlTable),
      clock: rt.clock,
    },
    readerUrl: config.readerUrl,
  };
}

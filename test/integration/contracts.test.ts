/**
 * The port contracts (test/contracts/) against the AWS adapters on the local cloud's emulators:
 * the DynamoDB adapters on dynalite and, when Java is present, on DynamoDB Local; the S3 and
 * SQS adapters on fauxqs. The memory adapters pass the same contracts in the unit suite.
 *
 * One cloud per engine; each test gets its own table (with the key schema and indexes of the
 * service's table, read from the cloud), buckets or queue, and removes them afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { signChecksummedPayloadsOnce } from '../../shared/aws/clients.ts';
import { DynamoEdgeStore } from '../../shared/aws/edge/edge-store.ts';
import {
  DynamoInitiators,
  DynamoListenerStore,
} from '../../shared/aws/listeners/listener-tables.ts';
import { DynamoParticipants } from '../../shared/aws/listeners/participants.ts';
import { DynamoRebuildJobStore } from '../../shared/aws/repair/rebuild-jobs.ts';
import { SqsRepairLog } from '../../shared/aws/repair/repair-log.ts';
import { DynamoReplicationLog } from '../../shared/aws/replication/replication-log.ts';
import { DynamoLedger } from '../../shared/aws/store/ledger.ts';
import { DynamoObjectIndex } from '../../shared/aws/store/object-index.ts';
import { S3SliceStore } from '../../shared/aws/store/slice-store.ts';
import { S3StagingStore } from '../../shared/aws/store/staging.ts';
import { DynamoUploadStore } from '../../shared/aws/store/upload-store.ts';
import { DynamoVaultStore } from '../../shared/aws/store/vault-store.ts';
import { DynamoAuditLog } from '../../shared/aws/topology/audit-log.ts';
import { DynamoManifestStore, DynamoTopologyJobStore } from '../../shared/aws/topology/jobs.ts';
import { DynamoTopologyStore } from '../../shared/aws/topology/topology-store.ts';
import { DynamoWorkStore } from '../../shared/aws/work/work-store.ts';
import { NodeFullError } from '../../shared/listeners/index.ts';
import { newJob } from '../../shared/replication/job.ts';
import { newTopologyJob } from '../../shared/topology/topology-job.ts';
import type { PortFactory } from '../contracts/contract.ts';
import { ledgerContract } from '../contracts/ledger.contract.ts';
import { listenerOf, listenerTablesContract } from '../contracts/listener-tables.contract.ts';
import { objectIndexContract } from '../contracts/object-index.contract.ts';
import { rebuildJobStoreContract } from '../contracts/rebuild-jobs.contract.ts';
import { repairQueueContract } from '../contracts/repair-queue.contract.ts';
import { sliceStoreContract } from '../contracts/slice-store.contract.ts';
import { topologyStoreContract } from '../contracts/topology-store.contract.ts';
import { stagingStoreContract, uploadStoreContract } from '../contracts/uploads.contract.ts';
import { vaultOf, vaultStoreContract } from '../contracts/vault-store.contract.ts';
import { workStoreContract } from '../contracts/work-store.contract.ts';
import {
  LOCAL_CREDENTIALS as credentials,
  dynamoDbEngines,
  type EngineCloud,
  eventually,
  startEngineCloud,
} from '../helpers/local-cloud.ts';
import { MemoryLogger } from '../helpers/logger.ts';
import { replicationTask } from '../helpers/replication.ts';

/** Names no other test of this run uses (lowercase: bucket names allow nothing else). */
let made = 0;
const uniqueName = (what: string) => `contract-${++made}-${what}`;

for (const { engine, skip } of await dynamoDbEngines()) {
  describe(`port contracts on the local cloud, DynamoDB on ${engine}`, { skip }, () => {
    let world: EngineCloud;
    let cloud: LocalCloud;
    let dynamodb: DynamoDBClient;
    let documents: DynamoDBDocumentClient;
    let s3: S3Client;
    let sliceS3: S3Client;
    let sqs: SQSClient;

    before(async () => {
      world = await startEngineCloud(`dsn-contracts-${engine}`, engine);
      ({ cloud, dynamodb, documents } = world);
      const region = cloud.service.region;
      const s3Config = { endpoint: cloud.endpoints.s3, region, credentials, forcePathStyle: true };
      s3 = signChecksummedPayloadsOnce(new S3Client(s3Config));
      // As wireDeployment configures the units' clients.
      sliceS3 = signChecksummedPayloadsOnce(
        new S3Client({ ...s3Config, responseChecksumValidation: 'WHEN_REQUIRED' }),
      );
      sqs = new SQSClient({ endpoint: cloud.endpoints.sqs, region, credentials });
    });

    after(async () => {
      for (const client of [s3, sliceS3, sqs]) client?.destroy();
      await world?.stop();
    });

    /** A new, empty table shaped as the service's table `logicalId`; removed by cleanup. */
    function onTable<P>(
      logicalId: string,
      adapter: (db: DynamoDBDocumentClient, table: string) => P,
    ): PortFactory<P> {
      return async () => {
        const { Table: shape } = await dynamodb.send(
          new DescribeTableCommand({ TableName: cloud.ref(logicalId) }),
        );
        const TableName = uniqueName(logicalId);
        await dynamodb.send(
          new CreateTableCommand({
            TableName,
            AttributeDefinitions: shape?.AttributeDefinitions,
            KeySchema: shape?.KeySchema,
            GlobalSecondaryIndexes: shape?.GlobalSecondaryIndexes?.map((g) => ({
              IndexName: g.IndexName,
              KeySchema: g.KeySchema,
              Projection: g.Projection,
            })),
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
        await eventually(async () => {
          const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName }));
          return Table?.TableStatus === 'ACTIVE' ? true : undefined;
        }, `table ${TableName} to become active`);
        return {
          port: adapter(documents, TableName),
          cleanup: async () => {
            await dynamodb.send(new DeleteTableCommand({ TableName }));
          },
        };
      };
    }

    ledgerContract(
      `DynamoLedger on ${engine}`,
      onTable('RevisionsTable', (db, table) => new DynamoLedger(db, table)),
    );
    objectIndexContract(
      `DynamoObjectIndex on ${engine}`,
      onTable('ObjectsTable', (db, table) => new DynamoObjectIndex(db, table)),
    );
    vaultStoreContract(
      `DynamoVaultStore on ${engine}`,
      onTable('VaultsTable', (db, table) => new DynamoVaultStore(db, table)),
    );
    rebuildJobStoreContract(
      `DynamoRebuildJobStore on ${engine}`,
      onTable('ControlTable', (db, table) => new DynamoRebuildJobStore(db, table)),
    );
    uploadStoreContract(
      `DynamoUploadStore on ${engine}`,
      onTable('ControlTable', (db, table) => new DynamoUploadStore(db, table)),
    );
    workStoreContract(
      `DynamoWorkStore on ${engine}`,
      onTable('WorkTable', (db, table) => new DynamoWorkStore(db, table)),
    );
    listenerTablesContract(`listener tables on ${engine}`, async () => {
      const participants = await onTable(
        'ParticipantsTable',
        (db, t) => new DynamoParticipants(db, t),
      )();
      const tables = await onTable('ListenersTable', (db, t) => ({
        initiators: new DynamoInitiators(db, t),
        listeners: new DynamoListenerStore(db, t, () => Date.parse('2026-12-01T00:00:00Z')),
      }))();
      return {
        port: { participants: participants.port, ...tables.port },
        cleanup: async () => {
          await participants.cleanup();
          await tables.cleanup();
        },
      };
    });
    topologyStoreContract(`DynamoTopologyStore on ${engine}`, async () => {
      const vaults = await onTable('VaultsTable', (db, t) => ({
        store: new DynamoVaultStore(db, t),
        table: t,
      }))();
      const control = await onTable('ControlTable', (db, t) => ({ db, table: t }))();
      const { db, table } = control.port;
      return {
        port: {
          topologies: new DynamoTopologyStore(db, table, vaults.port.table),
          addVault: (name: string) => vaults.port.store.create(vaultOf(name)),
        },
        cleanup: async () => {
          await vaults.cleanup();
          await control.cleanup();
        },
      };
    });

    test(`DynamoTopologyJobStore on ${engine}: a vault's job starts once; a newer topology's replaces it, an older one's never does`, async () => {
      const { port: jobs, cleanup } = await onTable(
        'ControlTable',
        (db, t) => new DynamoTopologyJobStore(db, t),
      )();
      try {
        const job = (id: string, since: number) =>
          newTopologyJob({ vault: 'photos', id, from: 'p0', kind: 'restripe', since, now: since });
        const first = await jobs.start(job('p1', 1000));
        const again = await jobs.start(job('p1', 1000));
        const newer = await jobs.start(job('p2', 2000));
        const older = await jobs.start(job('p1', 1000));
        assert.deepEqual([first.id, again.id, newer.id, older.id], ['p1', 'p1', 'p2', 'p2']);
        assert.equal((await jobs.get('photos'))?.id, 'p2');
      } finally {
        await cleanup();
      }
    });

    test(`DynamoTopologyJobStore on ${engine}: late writes are counted beside the job, where no save undoes them, and reopen the job once done`, async () => {
      const { port: jobs, cleanup } = await onTable(
        'ControlTable',
        (db, t) => new DynamoTopologyJobStore(db, t),
      )();
      try {
        // Prepare: a running job, its pass begun with no late write seen.
        const job = newTopologyJob({
          vault: 'photos',
          id: 'p1',
          from: 'p0',
          kind: 'restripe',
          since: 1000,
          now: 1000,
        });
        await jobs.start(job);

        // Act and assess: notes count for the job named only.
        await jobs.noteLateWrite('photos', 'p1');
        await jobs.noteLateWrite('photos', 'p1');
        await jobs.noteLateWrite('photos', 'p0');
        assert.equal((await jobs.get('photos'))?.lateWrites, 2);
        assert.equal(await jobs.reopen('photos', 'p1'), false, 'running: nothing to reopen');

        // Act and assess: its holder ends it, its last pass having seen none of them.
        assert.ok(await jobs.lease('photos', 'p1', 'h1', 10_000, 2000));
        const done = { ...job, state: 'done' as const, phase: 'done' as const };
        assert.ok(await jobs.save(done, 'h1', 'release'));
        const ended = await jobs.get('photos');
        assert.deepEqual([ended?.state, ended?.lateWrites], ['done', 2], 'the count stays');
        assert.equal(await jobs.lease('photos', 'p1', 'h2', 20_000, 11_000), false, 'done');
        assert.equal(await jobs.reopen('photos', 'p1'), true);
        assert.equal(await jobs.reopen('photos', 'p1'), true, 'asked again: still due');
        assert.equal((await jobs.get('photos'))?.state, 'done', 'the job says done till a step');
        assert.ok(await jobs.lease('photos', 'p1', 'h2', 20_000, 11_000), 'runnable again');

        // Act and assess: a pass that saw both covers them; a newer job starts with none.
        assert.ok(await jobs.save({ ...done, seenLateWrites: 2 }, 'h2', 'release'));
        assert.equal(await jobs.reopen('photos', 'p1'), false, 'covered');
        await jobs.start({ ...job, id: 'p2', since: 7000 });
        assert.equal((await jobs.get('photos'))?.lateWrites, undefined);
        assert.equal(await jobs.reopen('photos', 'p2'), false, 'no late write');
      } finally {
        await cleanup();
      }
    });

    test(`DynamoEdgeStore on ${engine}: a score is removed only as it was read; one a flush rewrote meanwhile stays`, async () => {
      const { port: edge, cleanup } = await onTable(
        'EdgeTable',
        (db, t) => new DynamoEdgeStore(db, t),
      )();
      try {
        // Prepare: two scores; one gets more reads after the planner read it.
        const add = (key: string, at: number) =>
          edge.updateScore('g', 'vlt', key, (prev) => ({ score: (prev?.score ?? 0) + 1, at }));
        await add('a', 1000);
        await add('b', 1000);
        const read = await edge.scores('g');
        await add('b', 2000);

        // Act
        const removed = await Promise.all(read.map((s) => edge.deleteScore(s)));

        // Assess
        assert.deepEqual(
          read.map((s) => s.key),
          ['a', 'b'],
        );
        assert.deepEqual(removed, [true, false]);
        assert.deepEqual(
          (await edge.scores('g')).map((s) => [s.key, s.score, s.at]),
          [['b', 2, 2000]],
        );
      } finally {
        await cleanup();
      }
    });

    test(`DynamoManifestStore on ${engine}: a relocation takes the units the mover read, or those it moves to, and never a stale view over another's`, async () => {
      // Prepare: an object and its revision's record, on units 0-3.
      const objects = await onTable('ObjectsTable', (db, t) => ({ db, t }))();
      const revisions = await onTable('RevisionsTable', (db, t) => ({ db, t }))();
      const manifests = new DynamoManifestStore(documents, objects.port.t, revisions.port.t);
      const revision = '0000000000aaaa0000000000000000';
      const entry = {
        vault: 'photos',
        key: 'a.jpg',
        revision,
        objectId: 'o'.repeat(22),
        size: 4,
        sha256: 'x',
        segments: 1,
        segmentSize: 65536,
        readThreshold: 2,
        units: [0, 1, 2, 3],
        committedAt: '2026-12-01T00:00:00.000Z',
      };
      const unitsNow = async () => {
        const [o, r] = await Promise.all([
          documents.send(
            new GetCommand({ TableName: objects.port.t, Key: { vault: 'photos', key: 'a.jpg' } }),
          ),
          documents.send(
            new GetCommand({ TableName: revisions.port.t, Key: { revision, part: 'meta' } }),
          ),
        ]);
        return [o.Item?.units, r.Item?.units];
      };
      try {
        await documents.send(
          new PutCommand({
            TableName: objects.port.t,
            Item: { vault: 'photos', key: 'a.jpg', revision, deleted: false, units: [0, 1, 2, 3] },
          }),
        );
        await documents.send(
          new PutCommand({
            TableName: revisions.port.t,
            Item: { revision, part: 'meta', units: [0, 1, 2, 3] },
          }),
        );

        // Act and assess: pillar 3 moves to unit 7; a second holder's same move still holds.
        assert.equal(await manifests.relocate(entry, [0, 1, 2, 7]), true);
        assert.deepEqual(await unitsNow(), [
          [0, 1, 2, 7],
          [0, 1, 2, 7],
        ]);
        assert.equal(await manifests.relocate(entry, [0, 1, 2, 7]), true, 'the same move again');

        // Act and assess: a holder that read units 0-3 and moves pillar 3 elsewhere is refused.
        assert.equal(await manifests.relocate(entry, [0, 1, 2, 9]), 'stale', 'a stale view');
        assert.deepEqual(
          await unitsNow(),
          [
            [0, 1, 2, 7],
            [0, 1, 2, 7],
          ],
          'the record and the index keep the newer move',
        );
        assert.equal(
          await manifests.relocate({ ...entry, units: [0, 1, 2] }, [0, 1, 9]),
          'stale',
          'another width',
        );

        // Act and assess: the key moved on to another revision.
        assert.equal(
          await manifests.relocate(
            { ...entry, units: [0, 1, 2, 7], revision: 'other' },
            [0, 1, 5, 7],
          ),
          false,
        );
        assert.deepEqual((await unitsNow())[0], [0, 1, 2, 7]);
      } finally {
        await objects.cleanup();
        await revisions.cleanup();
      }
    });

    test(`DynamoListenerStore on ${engine}: a create or a delete made again after one of its requests' answers was lost counts the listener on its node once`, async () => {
      // Each request of a create and a delete in turn: done, then its answer lost (as a timeout
      // the SDK retries, or a crash before the next step), and the whole call made again.
      let lose:
        | ((input: { Key?: { pk?: unknown }; Item?: { pk?: unknown } }) => boolean)
        | undefined;
      const { port: store, cleanup } = await onTable('ListenersTable', (db, t) => {
        // The client itself underneath (the SDK's paginators take nothing else), its sends lossy.
        const lossy: DynamoDBDocumentClient = Object.assign(Object.create(db), {
          send: async (command: { input: object }) => {
            const out = await db.send(command as Parameters<typeof db.send>[0]);
            if (lose?.(command.input)) {
              lose = undefined;
              throw Object.assign(new Error('the answer was lost'), { name: 'TimeoutError' });
            }
            return out;
          },
        });
        return new DynamoListenerStore(lossy, t, () => Date.parse('2026-12-01T00:00:00Z'));
      })();
      const pkOf = (input: { Key?: { pk?: unknown }; Item?: { pk?: unknown } }) =>
        String(input.Key?.pk ?? input.Item?.pk ?? '');
      const steps = {
        record: (input: { Key?: { pk?: unknown }; Item?: { pk?: unknown } }) =>
          pkOf(input).startsWith('listener#'),
        count: (input: { Key?: { pk?: unknown }; Item?: { pk?: unknown } }) =>
          pkOf(input) === 'nodes',
      };
      try {
        for (const [step, lost] of Object.entries(steps)) {
          const l = listenerOf(`lost-${step}`, { node: 1 });
          lose = lost;
          await store.create(l).catch(() => undefined);
          await store.create(l);
          assert.deepEqual(await store.nodeLoads(2), [0, 1], `create, ${step} answer lost`);
          lose = lost;
          await store.delete(l).catch(() => undefined);
          await store.delete(l);
          assert.deepEqual(await store.nodeLoads(2), [0, 0], `delete, ${step} answer lost`);
          assert.equal(await store.get('photos', l.id), undefined);
        }
      } finally {
        await cleanup();
      }
    });

    test(`DynamoListenerStore on ${engine}: a temporary listener whose items DynamoDB's TTL removed (the sweep stopped for two days) is still found expired, and its delete uncounts its node`, async () => {
      // Prepare: a temporary listener on node 1, expiring a minute after T0.
      const T0 = Date.parse('2026-12-01T00:00:00Z');
      const { port, cleanup } = await onTable('ListenersTable', (db, t) => ({
        store: new DynamoListenerStore(db, t, () => T0),
        db,
        table: t,
      }))();
      const { store, db, table } = port;
      try {
        const l = listenerOf('ttl-gone', { node: 1, expiresAt: T0 / 1000 + 60 });
        await store.create(l);
        const counted = await store.nodeLoads(2);

        // Act: DynamoDB's TTL two days past the expiry (the emulators do not run it): every item
        // whose `ttl` has passed goes. Then the sweep's look, and its delete.
        const at = T0 / 1000 + 60 + 2 * 24 * 3600;
        const items = (await db.send(new ScanCommand({ TableName: table }))).Items ?? [];
        const expiring = items.filter((i) => typeof i.ttl === 'number' && i.ttl <= at);
        for (const { pk, sk } of expiring)
          await db.send(new DeleteCommand({ TableName: table, Key: { pk, sk } }));
        const found = await store.expiredTemporary(at * 1000);
        for (const f of found) await store.delete(f);

        // Assess
        assert.deepEqual(counted, [0, 1]);
        assert.deepEqual(
          expiring.map((i) => i.pk),
          ['listener#photos'],
          'the TTL took the record only',
        );
        assert.deepEqual(
          found.map((f) => f.id),
          ['ttl-gone'],
        );
        assert.deepEqual(await store.nodeLoads(2), [0, 0], 'its node uncounted');
        assert.deepEqual(await store.expiredTemporary(at * 1000), [], 'nothing left to sweep');
      } finally {
        await cleanup();
      }
    });

    test(`DynamoListenerStore and DynamoInitiators on ${engine}: a node whose items are full (400 KB) refuses a listener with NodeFullError, and its record goes with the undo`, async () => {
      // Prepare: node 1's load item and node 2's entry on a/ filled to some 100 bytes short of
      // 400 KB (409,600 bytes), as 10,000 listeners on one node, or 1,000 on one path, fill
      // them; the listeners' ids are long enough that one more passes the limit.
      const T0 = Date.parse('2026-12-01T00:00:00Z');
      const { port, cleanup } = await onTable('ListenersTable', (db, t) => ({
        store: new DynamoListenerStore(db, t, () => T0),
        initiators: new DynamoInitiators(db, t),
        db,
        table: t,
      }))();
      const { store, initiators, db, table } = port;
      const long = (id: string) => `${id}-${'x'.repeat(200)}`;
      try {
        await db.send(
          new PutCommand({
            TableName: table,
            Item: {
              pk: 'nodes',
              sk: '0001',
              members: new Set(['photos#filler']),
              served: 1,
              pad: 'x'.repeat(409_456),
            },
          }),
        );
        await db.send(
          new PutCommand({
            TableName: table,
            Item: { pk: 'initiator#2#photos', sk: '~a/', l_filler: 'x'.repeat(409_417) },
          }),
        );

        // Act
        const onOne = listenerOf(long('full-1'), { node: 1 });
        const counted = await store.create(onOne).catch((err: unknown) => err);
        const deleted = await store.delete(onOne);
        const onTwo = listenerOf(long('full-2'), { node: 2 });
        const added = await initiators.add(onTwo).catch((err: unknown) => err);
        const elsewhere = listenerOf('room-2', { node: 2, path: 'b/' });
        await initiators.add(elsewhere);

        // Assess
        assert.ok(counted instanceof NodeFullError, String(counted));
        assert.equal(counted.node, 1);
        assert.equal(deleted, true, 'the record it stored goes with the undo');
        assert.equal(await store.get('photos', onOne.id), undefined);
        assert.deepEqual(await store.nodeLoads(2), [0, 1]);
        assert.ok(added instanceof NodeFullError, String(added));
        assert.match(added.message, /node 2 holds no more listeners on path "a\/"/);
        const served = await initiators.read(2, 'photos', ['b/']);
        assert.deepEqual(
          served.get('b/')?.map((l) => l.id),
          ['room-2'],
          'another path on the same node has room',
        );
      } finally {
        await cleanup();
      }
    });

    test(`DynamoReplicationLog on ${engine}: a restart opens its round once, made again after its answer was lost or by a second restart of the same round`, async () => {
      const { port: log, cleanup } = await onTable(
        'ReplicationTable',
        (db, t) => new DynamoReplicationLog(db, t),
      )();
      try {
        const job = newJob(
          {
            source: { vault: 'photos', prefix: '' },
            destination: { vault: 'backup', prefix: '' },
            deleteExtraneous: false,
            rebalance: false,
          },
          { id: 'r1', partSize: 5 * 1024 * 1024, at: new Date('2026-12-05T00:00:00Z') },
        );
        await log.createJob(job);

        // Act
        const opened = await log.openRound('r1', 1);
        const again = await log.openRound('r1', 1);
        const next = await log.openRound('r1', 2);
        const missing = await log.openRound('nope', 1);

        // Assess
        assert.deepEqual([opened?.round, opened?.restarts], [2, 1]);
        assert.deepEqual([again?.round, again?.restarts], [2, 1], 'the same round, counted once');
        assert.deepEqual([next?.round, next?.restarts], [3, 2]);
        assert.equal(missing, undefined);
      } finally {
        await cleanup();
      }
    });

    test(`DynamoReplicationLog on ${engine}: an upload gone at the destination is forgotten on its task, only at that attempt and upload, and checkpoints of a new one land after`, async () => {
      const { port: log, cleanup } = await onTable(
        'ReplicationTable',
        (db, t) => new DynamoReplicationLog(db, t),
      )();
      try {
        // Prepare: a task of attempt 2 with part 1 of upload `old` checkpointed.
        const task = replicationTask({ jobId: 'r2', id: 't1', attempts: 2, state: 'queued' });
        await log.putTasks([task]);
        assert.ok(await log.claimTask('r2', 't1', { attempt: 2, at: 1000, uploadId: 'old' }));
        await log.applyStatus(
          {
            jobId: 'r2',
            taskId: 't1',
            attempt: 2,
            worker: 0,
            type: 'part',
            at: 2000,
            uploadId: 'old',
            part: 1,
            etag: 'e1',
          },
          5,
        );
        const before = await log.getTask('r2', 't1');

        // Act
        const otherAttempt = await log.restartUpload('r2', 't1', 1, 'old');
        const otherUpload = await log.restartUpload('r2', 't1', 2, 'another');
        const restarted = await log.restartUpload('r2', 't1', 2, 'old');
        const after = await log.getTask('r2', 't1');
        await log.applyStatus(
          {
            jobId: 'r2',
            taskId: 't1',
            attempt: 2,
            worker: 0,
            type: 'part',
            at: 3000,
            uploadId: 'new',
            part: 1,
            etag: 'n1',
          },
          5,
        );
        const resumed = await log.getTask('r2', 't1');

        // Assess
        assert.deepEqual(
          [before?.uploadId, before?.partsDone, before?.etags],
          ['old', 1, { '1': 'e1' }],
        );
        assert.deepEqual([otherAttempt, otherUpload, restarted], [false, false, true]);
        assert.deepEqual([after?.uploadId, after?.partsDone, after?.etags], [undefined, 0, {}]);
        assert.deepEqual(
          [resumed?.uploadId, resumed?.partsDone, resumed?.etags],
          ['new', 1, { '1': 'n1' }],
        );
      } finally {
        await cleanup();
      }
    });

    test(`DynamoAuditLog on ${engine}: a begin sent again (a retry whose first answer was lost) passes; another record under the same id is refused`, async () => {
      const { port: audit, cleanup } = await onTable(
        'AdminTable',
        (db, t) => new DynamoAuditLog(db, t),
      )();
      try {
        const record = {
          id: '00000000a-x1',
          command: 'vault.freeze',
          args: { vault: 'photos' },
          by: 'AKIDTEST',
          at: '2026-12-05T00:00:00.000Z',
          state: 'running' as const,
          operations: [],
        };
        await audit.begin(record);
        await audit.begin(record);
        await assert.rejects(audit.begin({ ...record, by: 'AKIDOTHER' }), {
          name: 'ConditionalCheckFailedException',
        });
        assert.deepEqual(await audit.get(record.id), record);
      } finally {
        await cleanup();
      }
    });

    if (engine !== 'dynalite') return;

    /** `count` new, empty buckets; cleanup empties and removes them. */
    function inBuckets<P>(count: number, adapter: (buckets: string[]) => P): PortFactory<P> {
      return async () => {
        const buckets = Array.from({ length: count }, (_, i) => uniqueName(`bucket-${i}`));
        for (const Bucket of buckets) await s3.send(new CreateBucketCommand({ Bucket }));
        return {
          port: adapter(buckets),
          cleanup: async () => {
            for (const Bucket of buckets) {
              for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket })) {
                const Objects = (page.Contents ?? []).map((o) => ({ Key: o.Key }));
                if (Objects.length > 0)
                  await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects } }));
              }
              await s3.send(new DeleteBucketCommand({ Bucket }));
            }
          },
        };
      };
    }

    sliceStoreContract(
      'S3SliceStore on fauxqs',
      inBuckets(2, (buckets) => new S3SliceStore(sliceS3, buckets)),
    );
    stagingStoreContract(
      'S3StagingStore on fauxqs',
      inBuckets(1, ([bucket]) => new S3StagingStore(s3, bucket as string)),
    );
    repairQueueContract('SqsRepairLog on fauxqs', async () => {
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: uniqueName('repair') }),
      );
      if (!QueueUrl) throw new Error('CreateQueue returned no URL');
      return {
        port: new SqsRepairLog(sqs, QueueUrl, new MemoryLogger()),
        cleanup: async () => {
          await sqs.send(new DeleteQueueCommand({ QueueUrl }));
        },
      };
    });
  });
}

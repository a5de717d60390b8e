/**
 * The deployment's adapters, wired once per process from the configuration: what every
 * handler needs, built in one place so handlers stay thin.
 */

import { S3Client } from '@aws-sdk/client-s3';
import { type DsnConfig, loadConfig } from '../config.ts';
import { type CommitterDeps, defaultTasks, type WriterDeps } from '../store/index.ts';
import { type AwsClients, awsClients, signChecksummedPayloadsOnce } from './clients.ts';
import { DynamoRebuildJobStore } from './repair/rebuild-jobs.ts';
import { SqsRebuildTrigger } from './repair/rebuild-trigger.ts';
import { SqsRepairLog } from './repair/repair-log.ts';
import { SnsEventBus } from './store/events.ts';
import { DynamoLedger } from './store/ledger.ts';
import { SnsMulticast } from './store/multicast.ts';
import { DynamoObjectIndex } from './store/object-index.ts';
import { S3SliceStore } from './store/slice-store.ts';
import { DynamoUploadStore, S3StagingStore, SqsDispersalQueue } from './store/staging.ts';
import { SnsSubscriptionManager } from './store/subscriptions.ts';
import { DynamoVaultStore } from './store/vault-store.ts';

export function wireDeployment(
  config: DsnConfig = loadConfig(),
  clients: AwsClients = awsClients(),
) {
  const db = clients.documents;
  // One client per region the units live in (S3 redirects a request sent to the wrong one).
  // Slices carry their own CRC-32, which every read checks (decodeSlice): the SDK's check of
  // S3's stored checksum on responses would hash every byte a second time, so slice clients
  // leave it off. Writes still send the CRC-32 for S3 to verify on arrival.
  const regional = new Map<string, S3Client>();
  const s3In = (region: string): S3Client => {
    let client = regional.get(region);
    if (!client) {
      client = signChecksummedPayloadsOnce(
        new S3Client({
          region,
          forcePathStyle: clients.s3.config.forcePathStyle,
          responseChecksumValidation: 'WHEN_REQUIRED',
        }),
      );
      regional.set(region, client);
    }
    return client;
  };
  const unitS3 = config.unitRegions.map(s3In);
  const ledger = new DynamoLedger(db, config.revisionsTable);
  const index = new DynamoObjectIndex(db, config.objectsTable);
  const events = new SnsEventBus(clients.sns, config.eventsTopicArn);
  const committer: CommitterDeps = { ledger, index, events, tasks: defaultTasks() };
  const vaults = new DynamoVaultStore(db, config.vaultsTable);
  const slices = new S3SliceStore(unitS3, config.unitBuckets);
  const multicast = new SnsMulticast(clients.sns, config.networkTopicArn, config.statusTopicArn);
  const writer: WriterDeps = {
    ...committer,
    vaults,
    slices,
    multicast,
    pendingTimeoutMs: config.pendingTimeoutMs,
  };
  return {
    config,
    clients,
    ...committer,
    committer,
    writer,
    vaults,
    subscriptions: new SnsSubscriptionManager(
      clients.sns,
      config.networkTopicArn,
      config.unitQueueArns,
    ),
    multicast,
    repair: new SqsRepairLog(clients.sqs, config.repairQueueUrl),
    unitS3,
    slices,
    rebuildJobs: new DynamoRebuildJobStore(db, config.controlTable),
    rebuildTrigger: new SqsRebuildTrigger(clients.sqs, config.rebuildQueueUrl),
    uploads: new DynamoUploadStore(db, config.controlTable),
    staging: new S3StagingStore(clients.s3, config.stagingBucket),
    dispersal: new SqsDispersalQueue(clients.sqs, config.dispersalQueueUrl),
  };
}

export type Deployment = ReturnType<typeof wireDeployment>;

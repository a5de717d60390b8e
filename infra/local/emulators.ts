/**
 * The local cloud's emulators: fauxqs (S3, SNS, SQS, and the local Secrets Manager on the same
 * port) and DynamoDB (dynalite, or DynamoDB Local), each behind its loopback gate, with the
 * unit faults installed on both. They stop together, last but the data folder's lock: every
 * other part of the cloud may still use them while it stops.
 */
import type { Server } from 'node:http';
import { type DynamoDbHandle, startDynamoDb } from './dynamodb.ts';
import { startDynamoDbLocal } from './dynamodb-local.ts';
import { type FauxqsHandle, startS3SnsSqs } from './fauxqs.ts';
import { LocalIam } from './iam.ts';
import { LOCAL_ACCOUNT_ID, type ProvisionedStack } from './provision.ts';
import { S3Cors } from './s3-cors.ts';
import { installPresignedChecks } from './s3-presigned.ts';
import { LocalSecretsManager } from './secrets-manager.ts';
import { gateServer, type ServerGate, sendAwsError } from './server-gate.ts';
import type { Shutdown } from './shutdown.ts';
import { UnitFaults } from './unit-faults.ts';
import { WorkTableFaults } from './work-faults.ts';

/** The key the local cloud gives its functions and clients; presigned URLs are checked with it. */
export const LOCAL_ACCESS_KEY = { accessKeyId: 'local', secretAccessKey: 'local' };

/** How long an emulator's requests in flight may take to end once the functions are gone. */
export const EMULATOR_SETTLE_MS = 300;

/** The loopback gate on an emulator's port, refusing in the shape AWS clients read. */
export function awsGate(server: Server): ServerGate {
  return gateServer(server, {
    refuse: (req, res, why, message) =>
      why === 'foreign'
        ? sendAwsError(req, res, 403, 'AccessDenied', message)
        : sendAwsError(req, res, 503, 'ServiceUnavailable', message),
  });
}

/** An emulator's share of the stop: requests in flight a moment to end, then cut and counted. */
export async function cutEmulator(gate: ServerGate | undefined, settleMs: number): Promise<number> {
  if (!gate) return 0;
  // The functions' environments were terminated just before; the requests they had open end
  // as the emulator sees their connections close. What is still open then is a client's own.
  await gate.settle(settleMs);
  const before = gate.ended.requests;
  gate.cut(false);
  return gate.ended.requests - before;
}

export interface EmulatorOptions {
  ports: { aws: number; dynamodb: number };
  /** The variables that set each port, named when a port is taken. */
  portVariables: { aws: string; dynamodb: string };
  dataDir: string;
  engine?: 'dynalite' | 'dynamodb-local';
  /** The provisioned stack, once there is one: the faults find the units' buckets and table in it. */
  stack: { current?: ProvisionedStack };
  /** Whether IAM checks the functions' calls (iam.ts); `DSN_IAM=off` turns it off. */
  iam: boolean;
  shutdown: Shutdown;
  log: (line: string) => void;
}

export interface Emulators {
  fauxqs: FauxqsHandle;
  dynamodb: DynamoDbHandle;
  faults: UnitFaults;
  /** The functions' roles, checked in front of every emulator (configured once provisioned). */
  iam: LocalIam;
}

/** Starts both emulators, their stop registered on `shutdown` as they start. */
export async function startEmulators(opts: EmulatorOptions): Promise<Emulators> {
  const { dataDir, stack, shutdown, log } = opts;
  const faults = new UnitFaults((unit) => stack.current?.resources.get(`Unit${unit}Bucket`)?.ref);
  let secrets: LocalSecretsManager | undefined;
  const iam = new LocalIam({
    enforce: opts.iam,
    accountId: LOCAL_ACCOUNT_ID,
    log,
    secretArn: (id) => secrets?.arnOf(id),
  });
  let fauxqsGate: ServerGate | undefined;
  const fauxqs = await startS3SnsSqs({
    port: opts.ports.aws,
    dataDir,
    region: 'us-east-1',
    portVariable: opts.portVariables.aws,
    onServer: (server, s3) => {
      // Innermost: a refused presigned PUT is neither stored nor counted as a unit's write.
      installPresignedChecks(server, {
        secrets: {
          get: (key) =>
            key === LOCAL_ACCESS_KEY.accessKeyId
              ? LOCAL_ACCESS_KEY.secretAccessKey
              : iam.secretOf(key),
        },
      });
      secrets = new LocalSecretsManager({
        dataDir,
        region: 'us-east-1',
        accountId: LOCAL_ACCOUNT_ID,
      });
      secrets.install(server);
      // Outside the secrets: a function's GetSecretValue is judged before it is answered.
      iam.install(server, ['s3', 'sqs', 'sns', 'secretsmanager']);
      faults.install(server);
      // Outside the faults: a preflight is answered by the bucket's CORS rules alone, and the
      // headers it allows are set before any layer within answers (a fault's 503 included).
      new S3Cors(dataDir).install(server, s3);
      fauxqsGate = awsGate(server); // last, so outermost: a refused request reaches nothing
    },
    log,
  });
  let dynamoGate: ServerGate | undefined;
  const startDynamo = opts.engine === 'dynamodb-local' ? startDynamoDbLocal : startDynamoDb;
  // The same unit faults on the units' partitions of the work table (seed 001).
  const workFaults = new WorkTableFaults(
    faults,
    () => stack.current?.resources.get('WorkTable')?.ref,
  );
  const dynamodb = await startDynamo({
    port: opts.ports.dynamodb,
    dataDir,
    portVariable: opts.portVariables.dynamodb,
    log,
    // DynamoDB Local is a Java process of its own, with no server here to gate.
    onServer: (server) => {
      workFaults.install(server);
      iam.install(server, ['dynamodb']);
      dynamoGate = awsGate(server); // last, so outermost
    },
  });
  shutdown.onCut('the emulators', async (ctx) => {
    faults.dropHeld();
    workFaults.dropHeld();
    const settleMs = Math.min(EMULATOR_SETTLE_MS, ctx.remainingMs());
    const [s3SnsSqs, dynamo] = await Promise.all([
      cutEmulator(fauxqsGate, settleMs),
      cutEmulator(dynamoGate, settleMs),
    ]);
    ctx.cut.awsRequests += s3SnsSqs + dynamo;
    await Promise.all([fauxqs.stop(), dynamodb.stop(ctx.remainingMs())]);
  });
  return { fauxqs, dynamodb, faults, iam };
}

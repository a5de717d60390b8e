/** Test worlds: a local cloud on ephemeral ports with its own temporary data directory. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type DynamoDbEngine, type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import { javaAvailable } from '../../infra/local/dynamodb-local.ts';
import { startS3SnsSqs } from '../../infra/local/fauxqs.ts';
import { PROJECT_ROOT } from './paths.ts';
// Installed first: every cloud started here enforces auth, and the tests' requests are signed.
import './signing.ts';

export { FIXTURE_SERVICE, PROJECT_ROOT } from './paths.ts';
export { fetchAs, signedHeaders, TEST_ROOT, unsignedFetch } from './signing.ts';

export const EPHEMERAL_PORTS = { api: 0, aws: 0, dynamodb: 0, stepFunctions: 0 };

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * The local cloud's S3 alone (fauxqs with the local cloud's layers), in a temporary folder, with
 * a client for it and `bucket` created: for tests of what those layers fix in fauxqs.
 */
export async function startLoneS3(
  prefix: string,
  bucket: string,
): Promise<{ s3: S3Client; url: string; stop(): Promise<void> }> {
  const dir = await tempDir(prefix);
  const server = await startS3SnsSqs({
    port: 0,
    dataDir: dir.path,
    region: 'us-east-1',
    portVariable: 'DSN_AWS_PORT',
  });
  const s3 = new S3Client({
    endpoint: server.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: LOCAL_CREDENTIALS,
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    s3,
    url: server.url,
    stop: async () => {
      s3.destroy();
      await server.stop();
      await dir.remove();
    },
  };
}

/**
 * A local cloud for a test file. Its stop fails the file when IAM refused any call of the
 * functions: their roles in serverless.yml must allow everything the tests make them do, as
 * they must on AWS.
 */
export async function startTestCloud(
  serviceDir: string,
  dataDir: string,
  stage = 'test',
): Promise<LocalCloud> {
  const lines: string[] = [];
  const cloud = await startLocalCloud({
    iam: process.env.DSN_IAM !== 'off',
    serviceDir,
    dataDir,
    stage,
    ports: EPHEMERAL_PORTS,
    log: (line) => lines.push(line),
    functionLog: (fn, line) => {
      if (process.env.DSN_TEST_VERBOSE) console.log(`[${fn}] ${line}`);
    },
  });
  const stop = cloud.stop;
  cloud.stop = async (options) => {
    const report = await stop(options);
    assertNoIamDenials(cloud);
    return report;
  };
  return cloud;
}

/** Throws, naming them, when IAM refused calls of the cloud's functions. */
export function assertNoIamDenials(cloud: LocalCloud): void {
  if (cloud.iam.denied === 0) return;
  const listed = cloud.iam
    .denials()
    .map((d) => `  ${d.role}: ${d.action} on ${d.resource}`)
    .join('\n');
  throw new Error(`IAM refused ${cloud.iam.denied} call(s) of the functions:\n${listed}`);
}

/** `npm start`'s entry running as a process of its own, once it is up. */
export interface CloudProcess {
  child: ChildProcess;
  /** The HTTP API's base URL. */
  api: string;
  /** The AWS endpoints it prints, by variable (AWS_ENDPOINT_URL_S3 and friends). */
  aws: Record<string, string>;
  /** What it printed so far, stdout and stderr together. */
  output(): string;
}

/** Cloud processes started and not yet exited, for killCloudProcesses. */
const cloudProcesses = new Set<ChildProcess>();

/**
 * Starts `npm start`'s entry (infra/local/main.ts) on ephemeral ports over `dataDir`, stage
 * `repair`, with `env` added to its environment; resolves once it printed its endpoints, rejects
 * if it exits first. For tests of what only a process shows: a crash, a signal, a restart on the
 * same data folder. `base` is the environment it starts from: a benchmark that already pointed
 * its own at an in-process cloud passes the one it started with.
 */
export function startCloudProcess(
  dataDir: string,
  env: Record<string, string> = {},
  base: NodeJS.ProcessEnv = process.env,
): Promise<CloudProcess> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'infra/local/main.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...base,
      DSN_DATA_DIR: dataDir,
      DSN_STAGE: 'repair',
      DSN_PORT: '0',
      DSN_AWS_PORT: '0',
      DSN_DYNAMODB_PORT: '0',
      DSN_SFN_PORT: '0',
      DSN_LAMBDA_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cloudProcesses.add(child);
  child.once('exit', () => cloudProcesses.delete(child));
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const onData = () => {
      if (!/Ctrl-C stops it/.test(out)) return;
      child.stdout?.off('data', onData);
      const api = /HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] as string;
      const aws = Object.fromEntries(
        [...out.matchAll(/export (AWS_ENDPOINT_URL_\w+)=(\S+)/g)].map((m) => [m[1], m[2]]),
      );
      resolve({ child, api, aws, output: () => out });
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the local cloud exited with ${code}: ${out}`)));
  });
}

/**
 * How `cloud`'s process ended, its signal or else its exit code, once it has (a crash hook's
 * SIGKILL, in the crash tests). @throws after `timeoutMs`, with what it printed and `what`
 */
export async function ending(
  cloud: CloudProcess,
  what: string,
  timeoutMs = 120_000,
): Promise<NodeJS.Signals | number | null> {
  const { child } = cloud;
  const ended = () => child.signalCode ?? child.exitCode;
  if (child.signalCode !== null || child.exitCode !== null) return ended();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    new Promise<void>((resolve) => child.once('exit', () => resolve())),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what}: ${cloud.output()}`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  return ended();
}

/** Kills every cloud process still running: for a test file's `after`, whatever failed. */
export function killCloudProcesses(): void {
  for (const child of cloudProcesses) child.kill('SIGKILL');
}

/** The emulators take any key; a client outside the cloud's functions signs with this one. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Both DynamoDB engines, each with why a test run skips it (DynamoDB Local needs Java). */
export async function dynamoDbEngines(): Promise<
  Array<{ engine: DynamoDbEngine; skip: string | false }>
> {
  const java = await javaAvailable();
  return [
    { engine: 'dynalite', skip: false },
    {
      engine: 'dynamodb-local',
      skip: java ? false : 'java is not on PATH; DynamoDB Local needs it',
    },
  ];
}

/** The project's local cloud with DynamoDB on one engine, and clients on its DynamoDB. */
export interface EngineCloud {
  cloud: LocalCloud;
  dynamodb: DynamoDBClient;
  /** Over `dynamodb`, as awsClients configures it for every adapter. */
  documents: DynamoDBDocumentClient;
  /** Ends the clients and the cloud, and removes its data directory. */
  stop(): Promise<void>;
}

/** Starts the project's local cloud (stage `test`) with DynamoDB on `engine`, in a new temporary directory. */
export async function startEngineCloud(
  prefix: string,
  engine: DynamoDbEngine,
): Promise<EngineCloud> {
  const dir = await tempDir(prefix);
  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({
      serviceDir: PROJECT_ROOT,
      dataDir: dir.path,
      stage: 'test',
      ports: EPHEMERAL_PORTS,
      dynamodbEngine: engine,
    });
  } catch (err) {
    await dir.remove();
    throw err;
  }
  const dynamodb = new DynamoDBClient({
    endpoint: cloud.endpoints.dynamodb,
    region: cloud.service.region,
    credentials: LOCAL_CREDENTIALS,
  });
  const documents = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    cloud,
    dynamodb,
    documents,
    async stop() {
      documents.destroy();
      dynamodb.destroy();
      await cloud.stop();
      await dir.remove();
    },
  };
}

/** SDK clients on a local cloud's endpoints, as a test reaches past the API with them. */
export interface CloudClients {
  s3: S3Client;
  sns: SNSClient;
  sqs: SQSClient;
  sfn: SFNClient;
  /** Drops undefined attributes, as the functions' own document client does. */
  documents: DynamoDBDocumentClient;
  destroy(): void;
}

export function cloudClients(cloud: LocalCloud): CloudClients {
  const config = { region: cloud.service.region, credentials: LOCAL_CREDENTIALS };
  const s3 = new S3Client({ ...config, endpoint: cloud.endpoints.s3, forcePathStyle: true });
  const sns = new SNSClient({ ...config, endpoint: cloud.endpoints.sns });
  const sqs = new SQSClient({ ...config, endpoint: cloud.endpoints.sqs });
  const sfn = new SFNClient({ ...config, endpoint: cloud.endpoints.stepFunctions });
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...config, endpoint: cloud.endpoints.dynamodb }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  return {
    s3,
    sns,
    sqs,
    sfn,
    documents,
    destroy() {
      documents.destroy();
      for (const c of [s3, sns, sqs, sfn]) c.destroy();
    },
  };
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`.
 * For conditions that become true asynchronously (a message reaching a DLQ); never a fixed sleep.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}

/**
 * Creates a 4-of-6 vault on units 0-5 through the HTTP API (`api` is the test's fetch on the
 * API's base URL), and fails unless the answer is 201.
 */
export async function createVault(
  api: (path: string, init?: RequestInit) => Promise<Response>,
  vault: { name: string; writeThreshold: number; segmentSize: number },
): Promise<void> {
  const res = await api('/vaults', {
    method: 'POST',
    body: JSON.stringify({ width: 6, readThreshold: 4, units: [0, 1, 2, 3, 4, 5], ...vault }),
  });
  assert.equal(res.status, 201, await res.clone().text());
}

/**
 * A PUT answers once `T` units confirm; the others may still be storing. Waits, through
 * `?explain`, until all six units hold a good slice of every segment, and returns the
 * explanation (typed by the caller).
 */
export function everySliceStored<E extends { segments: Array<{ good: number }> }>(
  api: (path: string, init?: RequestInit) => Promise<Response>,
  vault: string,
  key: string,
): Promise<E> {
  return eventually(async () => {
    const res = await api(`/vaults/${vault}/objects/${key}?explain`);
    assert.equal(res.status, 200);
    const e = (await res.json()) as E;
    return e.segments.every((s) => s.good === 6) ? e : undefined;
  }, `every slice of ${vault}/${key}`);
}

/**
 * Puts `body` in `bucket` in parts of `part` bytes, 5 MiB unless given (fauxqs refuses a single
 * PUT much above 10 MiB, as API Gateway would): for tests that need large objects in a plain
 * bucket.
 */
export async function putInParts(
  s3: import('@aws-sdk/client-s3').S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  part = 5 * 1024 * 1024,
): Promise<void> {
  const { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } =
    await import('@aws-sdk/client-s3');
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
  );
  const parts: Array<{ ETag: string; PartNumber: number }> = [];
  for (let at = 0, n = 1; at < body.length; at += part, n++) {
    const out = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        PartNumber: n,
        Body: body.subarray(at, at + part),
      }),
    );
    parts.push({ ETag: out.ETag ?? '', PartNumber: n });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

/**
 * The local cloud: the AWS services the system uses, emulated on loopback, provisioned from the
 * resolved serverless.yml and wired to the same handlers with the same event sources. `npm start`
 * runs it; tests start it in-process on ephemeral ports with a temporary data directory.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SDK_CLIENT_OPTIONS } from '../../shared/aws/clients.ts';
import { faultRoutes } from './admin.ts';
import { ensureRootCredentials, type RootCredentials } from './credentials.ts';
import { lockDataDir } from './data-lock.ts';
import {
  awsGate,
  cutEmulator,
  EMULATOR_SETTLE_MS,
  LOCAL_ACCESS_KEY,
  startEmulators,
} from './emulators.ts';
import { wireEventSources } from './event-sources.ts';
import { startFunctionUrls } from './function-urls.ts';
import { authorizeWith, type HttpApiHandle, startHttpApi } from './http-api.ts';
import { type LocalIam, roleAccessKey } from './iam.ts';
import { resolveIntrinsics } from './intrinsics.ts';
import { Invoker } from './invoker.ts';
import { type LambdaApi, sendLambdaError, startLambdaApi } from './lambda.ts';
import { LOCAL_ACCOUNT_ID, type ProvisionedStack, provision } from './provision.ts';
import { type Scheduler, startScheduler } from './schedule.ts';
import { gateServer, type ServerGate, sendApiError } from './server-gate.ts';
import { loadService, type ResolvedService } from './service.ts';
import { Shutdown, type StopOptions, type StopReport } from './shutdown.ts';
import type { SqsPoller } from './sqs-source.ts';
import { type StepFunctionsServer, startStepFunctions } from './stepfunctions.ts';
import type { UnitFaults } from './unit-faults.ts';

/** Ports of the local cloud, with the variables that set them for `npm start`. */
export const PORT_VARIABLES = {
  api: 'DSN_PORT',
  aws: 'DSN_AWS_PORT',
  dynamodb: 'DSN_DYNAMODB_PORT',
  stepFunctions: 'DSN_SFN_PORT',
  lambda: 'DSN_LAMBDA_PORT',
} as const;

export type PortName = keyof typeof PORT_VARIABLES;

export interface LocalCloudOptions {
  /** Folder holding serverless.yml. */
  serviceDir: string;
  /** Where every emulator keeps its state; survives restarts. */
  dataDir: string;
  stage?: string;
  /** 0 picks a free port; the Lambda API's, when left out, too. */
  ports: Record<Exclude<PortName, 'lambda'>, number> & { lambda?: number };
  /** Start-up warnings and event-source failures. */
  log?: (line: string) => void;
  /** Lines a handler prints, with the function's name. */
  functionLog?: (functionName: string, line: string) => void;
  /** Concurrent batches per SQS event source. */
  sqsPollers?: number;
  /** Which DynamoDB emulator: dynalite (default) or the official DynamoDB Local (needs Java). */
  dynamodbEngine?: DynamoDbEngine;
  /**
   * Variables every function sees on top of its own, for tests only (a crash hook such as
   * DSN_LISTENER_CRASH_AT, or another cloud's AWS_ENDPOINT_URL_LAMBDA).
   */
  functionEnvironment?: Record<string, string>;
  /**
   * Whether routes run their authorizers, as API Gateway does (default). `false` is
   * `DSN_AUTH=off`: every request is the local root; for people's experiments, never tests.
   */
  auth?: boolean;
  /**
   * Each function's heap sized from its memorySize as Lambda's Node.js runtime sizes it
   * (`DSN_HEAP_LIMITS=lambda`); off by default (function-pool.ts `lambdaHeapLimits` says why).
   */
  lambdaHeaps?: boolean;
  /**
   * A directory where every sandbox writes CPU profiles of itself every few seconds
   * (`DSN_SANDBOX_CPU_PROFILE`; sandbox-profile.ts), for finding where a function's CPU goes.
   */
  sandboxCpuProfileDir?: string;
  /**
   * Whether the functions' calls are held to their roles' policies, as IAM holds them on AWS
   * (default; iam.ts). `false` is `DSN_IAM=off`.
   */
  iam?: boolean;
}

export type DynamoDbEngine = 'dynalite' | 'dynamodb-local';

export interface LocalCloudEndpoints {
  api: string;
  s3: string;
  sns: string;
  sqs: string;
  dynamodb: string;
  stepFunctions: string;
  lambda: string;
}

export interface LocalCloud {
  service: ResolvedService;
  stack: ProvisionedStack;
  endpoints: LocalCloudEndpoints;
  /** Variables that point an AWS SDK at this cloud (`AWS_ENDPOINT_URL_<SERVICE>` and friends). */
  env: Record<string, string>;
  invoker: Invoker;
  httpRoutes: string[];
  schedules: Scheduler;
  /**
   * Storage-unit faults injected into the S3 emulator and the units' partitions of the work
   * table (also at /admin/units/{unit}/fault).
   */
  faults: UnitFaults;
  /** The root admin key, kept in `credentials.file` (`<data dir>/credentials.json`). */
  credentials: RootCredentials & { file: string; created: boolean };
  /** Whether the HTTP API runs its authorizers (false with `DSN_AUTH=off`). */
  auth: boolean;
  /** IAM for the functions' roles: whether it is enforced, what it refused. */
  iam: Pick<LocalIam, 'enforce' | 'denials' | 'denied' | 'unresolved'> & {
    /** The access key a function signs with: its role's. */
    keyOf(functionKey: string): string | undefined;
  };
  /** Resolves a logical id (or function key) to its Ref value: a name, URL or ARN. */
  ref(logicalId: string): string;
  /** Resolves `Fn::GetAtt`. */
  attribute(logicalId: string, name: string): string;
  /** Resolved environment variables of a function, as its handler sees them. */
  functionEnvironment(functionKey: string): Record<string, string>;
  /**
   * Stops taking work, lets work in flight finish for `graceMs` (1 s), then cuts the rest:
   * done within a few seconds whatever runs (shutdown.ts). Resolves with what was cut short.
   */
  stop(options?: StopOptions): Promise<StopReport>;
}

/** The standard variables that point any AWS SDK at the given endpoints. */
export function endpointEnvironment(
  endpoints: LocalCloudEndpoints,
  region: string,
): Record<string, string> {
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_SNS: endpoints.sns,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SFN: endpoints.stepFunctions,
    AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda,
    // Secrets Manager answers on the same port as S3, SNS and SQS (secrets-manager.ts).
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.s3,
    DSN_LOCAL_CLOUD: '1',
  };
}

function clientConfig(endpoint: string, region: string) {
  return { endpoint, region, credentials: LOCAL_ACCESS_KEY };
}

export async function startLocalCloud(opts: LocalCloudOptions): Promise<LocalCloud> {
  const serviceDir = resolve(opts.serviceDir);
  const dataDir = resolve(opts.dataDir);
  const stage = opts.stage ?? 'local';
  const log = opts.log ?? (() => {});
  await mkdir(dataDir, { recursive: true });
  // The sandboxes write their profiles there, from the first one on.
  if (opts.sandboxCpuProfileDir) await mkdir(opts.sandboxCpuProfileDir, { recursive: true });
  const unlock = await lockDataDir(dataDir);

  // Every part registers how it stops as it starts, so a failed start stops what it started.
  const shutdown = new Shutdown(log);
  shutdown.onCut('the data folder lock', unlock);
  /** Failures of work in flight are expected once a stop has begun: the report covers them. */
  const unlessStopping = (write: (line: string) => void) => (line: string) => {
    if (!shutdown.started) write(line);
  };

  try {
    // serverless print takes the longest; the emulators start meanwhile.
    const servicePromise = loadService({ serviceDir, stage, cacheDir: dataDir });
    servicePromise.catch(() => {});
    // Units are the buckets the service declares as Unit<i>Bucket; known once provisioned.
    const stackRef: { current?: ProvisionedStack } = {};
    const { fauxqs, dynamodb, faults, iam } = await startEmulators({
      ports: opts.ports,
      portVariables: PORT_VARIABLES,
      dataDir,
      engine: opts.dynamodbEngine,
      stack: stackRef,
      iam: opts.iam !== false,
      shutdown,
      log,
    });
    const service = await servicePromise;
    const { region } = service;

    const s3 = new S3Client({
      ...SDK_CLIENT_OPTIONS,
      ...clientConfig(fauxqs.url, region),
      forcePathStyle: true,
    });
    const sns = new SNSClient({ ...SDK_CLIENT_OPTIONS, ...clientConfig(fauxqs.url, region) });
    const sqs = new SQSClient({ ...SDK_CLIENT_OPTIONS, ...clientConfig(fauxqs.url, region) });
    const ddb = new DynamoDBClient({
      ...SDK_CLIENT_OPTIONS,
      ...clientConfig(dynamodb.url, region),
    });
    shutdown.onCut('the SDK clients', () => {
      for (const c of [s3, sns, sqs, ddb]) c.destroy();
    });
    // Closed after the functions are terminated (steps run latest registered first), so that
    // the 503s the gate wrote to requests it cut have long gone out by then.
    let api: HttpApiHandle | undefined;
    shutdown.onCut('the HTTP API', () => api?.stop());

    const stack = await provision({
      service,
      clients: { s3, sns, sqs, dynamodb: ddb },
      sqsHost: `127.0.0.1:${fauxqs.port}`,
      dataDir,
      warn: log,
    });
    stackRef.current = stack;
    iam.configure(service, stack.context);
    const roleKey = (functionKey: string) =>
      iam.keyFor(service.functions.find((f) => f.key === functionKey)?.role);
    const credentialsFile = resolve(dataDir, 'credentials.json');
    const credentials = {
      ...(await ensureRootCredentials(credentialsFile)),
      file: credentialsFile,
    };
    const auth = opts.auth !== false;

    // Function URLs listen before the functions' environments resolve (a function may be given
    // another's URL); they invoke through the invoker, made below, only once a request comes.
    let invokerRef: Invoker | undefined;
    await startFunctionUrls({
      service,
      stack,
      shutdown,
      invoker: () => invokerRef as Invoker,
      log: unlessStopping(log),
    });

    const functionEnvironment = new Map<string, Record<string, string>>();
    for (const fn of service.functions) {
      const resolved = resolveIntrinsics(
        fn.environment,
        stack.context,
        `functions.${fn.key}.environment`,
      );
      functionEnvironment.set(
        fn.key,
        Object.fromEntries(Object.entries(resolved as object).map(([k, v]) => [k, String(v)])),
      );
    }

    // Step Functions tasks need the invoker, and handlers need the Step Functions endpoint: the
    // invoker reads `endpoints` lazily, when it first spawns an execution environment, which
    // happens only once event sources start below.
    let endpoints: LocalCloudEndpoints | undefined;
    const pollers: SqsPoller[] = [];
    // Runs after the invoker stops: batches in flight end when their workers are terminated,
    // instead of stopping waiting out handlers that wait on other, already stopped, pollers.
    shutdown.onCut('the SQS pollers', async () => {
      await Promise.all(pollers.map((p) => p.done));
    });
    // Functions invoke functions (a listener's Lambda target) through the Lambda API.
    let lambdaGate: ServerGate | undefined;
    const lambdaApi: LambdaApi = await startLambdaApi({
      port: opts.ports.lambda ?? 0,
      portVariable: PORT_VARIABLES.lambda,
      has: (name) => invoker.has(name),
      invoke: (name, payload) => invoker.invoke(name, payload),
      arnOf: (name) =>
        name.startsWith('arn:')
          ? name
          : `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${name}`,
      log: unlessStopping(log),
      onServer: (server) => {
        iam.install(server, ['lambda']);
        lambdaGate = gateServer(server, {
          refuse: (_req, res, why, message) =>
            why === 'foreign'
              ? sendLambdaError(res, 403, 'AccessDeniedException', message)
              : sendLambdaError(res, 503, 'ServiceException', message),
        });
      },
    });
    shutdown.onDrain('the Lambda API', () => lambdaGate?.drain());
    // Registered before the invoker's cut, so it runs after the functions are terminated.
    shutdown.onCut('the Lambda API', async (ctx) => {
      ctx.cut.awsRequests += await cutEmulator(
        lambdaGate,
        Math.min(EMULATOR_SETTLE_MS, ctx.remainingMs()),
      );
      await lambdaApi.stop();
    });
    const invoker = new Invoker(service.functions, {
      region,
      accountId: LOCAL_ACCOUNT_ID,
      environmentFor: (fn) => ({
        PATH: process.env.PATH ?? '',
        TZ: 'UTC',
        ...endpointEnvironment(endpoints as LocalCloudEndpoints, region),
        // Its role's key: the local IAM holds its calls to that role's policies (iam.ts).
        ...(fn.role === undefined ? {} : { AWS_ACCESS_KEY_ID: roleAccessKey(fn.role) }),
        ...functionEnvironment.get(fn.key),
        ...opts.functionEnvironment,
        // No Secrets Manager or KMS here: the root key is the file (shared/aws/access/wire.ts).
        DSN_ROOT_CREDENTIALS_FILE: credentialsFile,
        // No authorizer runs: the handlers take every request for the local root (principalOf).
        ...(auth ? {} : { DSN_AUTH: 'off' }),
      }),
      log: opts.functionLog,
      lambdaHeaps: opts.lambdaHeaps ?? false,
      ...(opts.sandboxCpuProfileDir ? { profileDir: opts.sandboxCpuProfileDir } : {}),
    });
    invokerRef = invoker;
    shutdown.onDrain('the invoker', () => invoker.drain());
    shutdown.whileInFlight(() => invoker.settled());
    shutdown.onCut('the functions', async (ctx) => {
      Object.assign(ctx.cut.invocations, await invoker.stop());
    });

    const stepFunctions: StepFunctionsServer = await startStepFunctions({
      port: opts.ports.stepFunctions,
      portVariable: PORT_VARIABLES.stepFunctions,
      dataDir: resolve(dataDir, 'stepfunctions'),
      region,
      accountId: LOCAL_ACCOUNT_ID,
      invoke: (name, payload) => invoker.invoke(name, payload),
      onServer: (server) => {
        iam.install(server, ['states']);
        awsGate(server);
      },
    });
    // Executions stop at once rather than after the grace: a task the draining invoker refused
    // would fail the execution as the task's error, which its Catch could act on; stopped here,
    // it fails as "the local cloud stopped", and a redrive resumes it.
    shutdown.onDrain('Step Functions', async (ctx) => {
      ctx.cut.executions += await stepFunctions.stop();
    });
    endpoints = {
      lambda: lambdaApi.url,
      api: '',
      s3: fauxqs.url,
      sns: fauxqs.url,
      sqs: fauxqs.url,
      dynamodb: dynamodb.url,
      stepFunctions: stepFunctions.url,
    };
    for (const [key, sm] of Object.entries(service.stateMachines)) {
      const entry = stack.resources.get(key);
      const definition = resolveIntrinsics(
        sm.definition,
        stack.context,
        `stepFunctions.stateMachines.${key}.definition`,
      );
      stepFunctions.createStateMachine(String(entry?.attributes.Name), definition as object);
    }

    // Event sources last, once everything they may touch exists.
    shutdown.onDrain('the SQS pollers', () => {
      for (const p of pollers) p.signal();
    });
    const { routes, targets } = wireEventSources({
      service,
      stack,
      region,
      invoke: (key, e) => invoker.invoke(key, e),
      pollers,
      sqsPollers: opts.sqsPollers,
      roleKey,
      log: unlessStopping(log),
    });
    const schedules = startScheduler({
      region,
      accountId: LOCAL_ACCOUNT_ID,
      targets,
      invoke: (name, e) => invoker.invoke(name, e),
      log: unlessStopping(log),
    });
    shutdown.onDrain('the schedules', () => schedules.stop());
    api = await startHttpApi({
      port: opts.ports.api,
      portVariable: PORT_VARIABLES.api,
      accountId: LOCAL_ACCOUNT_ID,
      routes,
      invoke: (name, e) => invoker.invoke(name, e),
      log: unlessStopping(log),
      localRoutes: faultRoutes(faults, resolve(dataDir, 's3', 'buckets'), async (revision) => {
        // The ledger's meta item of the revision (shared/aws/store/ledger.ts) names its key.
        const out = await ddb.send(
          new GetItemCommand({
            TableName: stack.resources.get('RevisionsTable')?.ref,
            Key: { revision: { S: revision }, part: { S: 'meta' } },
            ProjectionExpression: '#key',
            ExpressionAttributeNames: { '#key': 'key' },
          }),
        );
        return out.Item?.key?.S;
      }),
      authorize: auth ? authorizeWith(service, invoker) : undefined,
    });
    // Installed once listening, before anyone was told the port.
    const apiGate = gateServer(api.server, {
      refuse: (_req, res, why, message) =>
        why === 'foreign'
          ? sendApiError(res, 403, 'Forbidden', message)
          : sendApiError(res, 503, 'ServiceUnavailable', message),
    });
    shutdown.onDrain('the HTTP API', () => apiGate.drain());
    shutdown.whileInFlight(() => apiGate.settle());
    // Before the functions are terminated, so a request cut short is told so (503) rather than
    // answered with the error of its terminated function.
    shutdown.onCut('the HTTP API requests', (ctx) => {
      apiGate.cut(true);
      ctx.cut.httpRequests += apiGate.ended.requests;
      ctx.cut.keepAliveConnections += apiGate.ended.idleConnections;
    });

    endpoints.api = api.url;
    const resolveEntry = (logicalId: string) => {
      const entry = stack.resources.get(logicalId);
      if (!entry) throw new Error(`no resource or function "${logicalId}" in the service`);
      return entry;
    };
    return {
      service,
      stack,
      endpoints,
      env: endpointEnvironment(endpoints, region),
      invoker,
      httpRoutes: api.routes,
      schedules,
      faults,
      credentials,
      auth,
      iam: {
        enforce: iam.enforce,
        denials: () => iam.denials(),
        get denied() {
          return iam.denied;
        },
        unresolved: iam.unresolved,
        keyOf: roleKey,
      },
      ref: (id) => resolveEntry(id).ref,
      attribute: (id, name) => {
        const value = resolveEntry(id).attributes[name];
        if (value === undefined) throw new Error(`"${id}" has no attribute "${name}"`);
        return value;
      },
      functionEnvironment: (key) => ({ ...functionEnvironment.get(key) }),
      stop: (options) => shutdown.run(options),
    };
  } catch (err) {
    await shutdown.run({ graceMs: 0 });
    throw err;
  }
}

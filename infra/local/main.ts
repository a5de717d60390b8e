/**
 * `npm start`: the whole system on this machine, no Docker and no AWS account. Reads
 * serverless.yml, starts the emulators, provisions every declared resource and wires every
 * event source to the project's handlers. Ctrl-C stops it; state stays in DSN_DATA_DIR.
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PORT_VARIABLES, type PortName, startLocalCloud } from './cloud.ts';
import { releaseDataDirLockSync } from './data-lock.ts';
import { BACKGROUND_NICE } from './invoker.ts';
import { functionLogicalId } from './provision.ts';
import { handleStopSignals, STOP_LIMIT_MS } from './stop-signals.ts';

const DEFAULT_PORTS: Record<PortName, number> = {
  api: 3000,
  aws: 4566,
  dynamodb: 8000,
  stepFunctions: 8083,
  lambda: 3002,
};

function readPort(name: PortName): number {
  const variable = PORT_VARIABLES[name];
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return DEFAULT_PORTS[name];
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${variable} must be a port number 0..65535, got "${raw}"`);
  }
  return port;
}

async function main(): Promise<void> {
  const started = performance.now();
  const serviceDir = fileURLToPath(new URL('../..', import.meta.url));
  const dataDir = process.env.DSN_DATA_DIR || '.dsn';
  const stage = process.env.DSN_STAGE || 'local';
  const ports = {
    api: readPort('api'),
    aws: readPort('aws'),
    dynamodb: readPort('dynamodb'),
    stepFunctions: readPort('stepFunctions'),
    lambda: readPort('lambda'),
  };
  const engine = process.env.DSN_DYNAMODB_ENGINE || 'dynalite';
  if (engine !== 'dynalite' && engine !== 'dynamodb-local') {
    throw new Error(`DSN_DYNAMODB_ENGINE must be "dynalite" or "dynamodb-local", got "${engine}"`);
  }
  const authSetting = process.env.DSN_AUTH || 'on';
  if (authSetting !== 'on' && authSetting !== 'off') {
    throw new Error(`DSN_AUTH must be "on" or "off", got "${authSetting}"`);
  }
  const iamSetting = process.env.DSN_IAM || 'on';
  if (iamSetting !== 'on' && iamSetting !== 'off') {
    throw new Error(`DSN_IAM must be "on" or "off", got "${iamSetting}"`);
  }
  const heapSetting = process.env.DSN_HEAP_LIMITS || 'none';
  if (heapSetting !== 'none' && heapSetting !== 'lambda') {
    throw new Error(`DSN_HEAP_LIMITS must be "none" or "lambda", got "${heapSetting}"`);
  }
  const cloud = await startLocalCloud({
    auth: authSetting === 'on',
    iam: iamSetting === 'on',
    lambdaHeaps: heapSetting === 'lambda',
    ...(process.env.DSN_SANDBOX_CPU_PROFILE
      ? { sandboxCpuProfileDir: process.env.DSN_SANDBOX_CPU_PROFILE }
      : {}),
    dynamodbEngine: engine,
    serviceDir,
    dataDir,
    stage,
    ports,
    log: (line) => console.error(`! ${line}`),
    functionLog: (fn, line) => console.log(`[${fn}] ${line}`),
  });
  const ms = Math.round(performance.now() - started);
  const { endpoints, service, stack } = cloud;
  const count = (type: string) =>
    [...new Set(stack.resources.values())].filter((r) => r.type === type).length;
  const lines = [
    `dsn local cloud up in ${ms} ms (service ${service.service}, stage ${service.stage}, data in ${dataDir})`,
    '',
    `  HTTP API        ${endpoints.api}`,
    cloud.auth
      ? `  access          every request signed (SigV4, service dsn, region ${service.region}); root key ${cloud.credentials.created ? 'created in' : 'in'} ${cloud.credentials.file}`
      : '  access          DSN_AUTH=off: NOTHING IS CHECKED, every request is the root (local experiments only; AWS always checks)',
    cloud.iam.enforce
      ? `  IAM             each function signs as its role (local-role.<RoleId>) and is held to that role's policies in serverless.yml; a refusal is logged here${engine === 'dynamodb-local' ? '; DynamoDB calls are NOT checked with dynamodb-local, which runs in a process of its own' : ''}${cloud.iam.unresolved.length > 0 ? `; ${cloud.iam.unresolved.length} policy resources name what is not created locally (KMS keys, the root key's secret) and allow nothing here` : ''}`
      : '  IAM             DSN_IAM=off: the functions are held to no policy (AWS always holds them to their roles)',
    `  key secrets     sealed with AES-256-GCM under a key derived from the root secret (no KMS here; AWS uses KMS)`,
    `  S3, SNS, SQS    ${endpoints.s3}   (fauxqs; objects as files under ${dataDir}/s3/buckets/)`,
    '  S3 checks       presigned URLs (expiry, signature) and PUT checksums (x-amz-checksum-crc32) as AWS does; other S3 requests are not authenticated',
    `  Secrets Manager ${endpoints.s3}   (string secrets, kept unencrypted in ${dataDir}/secretsmanager.json; a delete is immediate; no binary secrets, no version stages but the current one)`,
    `  DynamoDB        ${endpoints.dynamodb}   (${engine})`,
    `  Step Functions  ${endpoints.stepFunctions}   (aws-local-stepfunctions)`,
    `  Lambda          ${endpoints.lambda}   (Invoke, of the functions below)`,
    `  CPU             functions share this machine's cores (on AWS each has its own); background ones (tag dsn:priority) run at nice ${BACKGROUND_NICE}${process.platform === 'linux' ? '' : ' on Linux only'}: ${
      service.functions
        .filter((fn) => fn.background)
        .map((fn) => fn.key)
        .join(', ') || 'none'
    }`,
    heapSetting === 'lambda'
      ? "  memory          DSN_HEAP_LIMITS=lambda: each function's JavaScript heap sized from its memorySize as Lambda's Node.js runtime sizes it; buffers outside the heap are not limited (on AWS the sandbox's whole memory is)"
      : "  memory          functions' heaps are not held to their memorySize as on AWS (DSN_HEAP_LIMITS=lambda holds them; on two shared cores it slows small writes)",
    ...(process.env.DSN_SANDBOX_CPU_PROFILE
      ? [
          `  profiling       DSN_SANDBOX_CPU_PROFILE: every sandbox writes a CPU profile of itself to ${process.env.DSN_SANDBOX_CPU_PROFILE} every 5 s, which costs CPU that functions on AWS do not spend`,
        ]
      : []),
    ...service.functions
      .filter((fn) => fn.url)
      .map(
        (fn) =>
          `  Function URL    ${cloud.attribute(`${functionLogicalId(fn.key)}Url`, 'FunctionUrl')}   (${fn.key}, ${fn.url?.invokeMode})`,
      ),
    '',
    '  differs from AWS (what code here could come to depend on):',
    '    concurrency   reservedConcurrency, maximumConcurrency and the API throttle are not applied: each function runs up to 10 sandboxes, and work past them waits instead of being throttled (no 429, no throttled SQS batch)',
    '    sandboxes     are not frozen between invocations: timers and promises left running go on',
    '    queues        standard queues deliver each message once, in order; a FIFO batch holds one message per group; SNS PublishBatch is not held to 256 KiB in all',
    '    Lambda        results travel as JSON and are held to 6 MB, async payloads to 1 MB, as on AWS; failed async invocations are not retried; callback handlers are accepted (nodejs24.x has none); streamed responses have no 200 MB cap and no 2 MB/s past their first 6 MB',
    `    DynamoDB      TTL deletes nothing; indexes are consistent at once${engine === 'dynalite' ? '; no transactions (dynalite)' : ''}`,
    '    Step Functions no 25,000-event history or 256 KiB payload limit; any failed execution can be redriven',
    "    IAM           only the functions' own roles are evaluated: bucket, topic and queue policies are not, nor are header signatures (any key but a role's is the account owner)",
    '',
    `  resources: ${count('AWS::S3::Bucket')} buckets, ${count('AWS::SNS::Topic')} topics, ${count('AWS::SQS::Queue')} queues, ${count('AWS::DynamoDB::Table')} tables, ${Object.keys(service.stateMachines).length} state machines; not emulated: ${stack.notEmulated.size} (IAM and policies)`,
    '  functions:',
    ...service.functions.map((fn) => {
      const events = fn.events.map((e) =>
        e.type === 'httpApi'
          ? `${e.method} ${e.path}`
          : e.type === 'schedule'
            ? e.expression
            : `sqs`,
      );
      return `    ${fn.name.padEnd(28)} ${events.join(', ') || '(invoked directly or by state machines)'}`;
    }),
    '',
    '  Point the AWS CLI or an SDK here with:',
    ...Object.entries(cloud.env)
      .filter(([k]) => k.startsWith('AWS_'))
      .map(([k, v]) => `    export ${k}=${v}`),
    '',
    `Ctrl-C stops it (within ${STOP_LIMIT_MS / 1000} s; again to exit at once).`,
  ];
  console.log(lines.join('\n'));

  handleStopSignals(process, {
    stop: async (signal) => {
      console.log(`\n${signal}: stopping the local cloud...`);
      const report = await cloud.stop();
      console.log(`${report.line}; state kept in ${dataDir}`);
      return report.cut.overran.length ? 1 : 0;
    },
    exitNow: ({ signal, again }) => {
      console.log(
        again
          ? `${signal} again: exiting at once, cutting short whatever was in flight`
          : `the stop did not finish within ${STOP_LIMIT_MS / 1000} s: exiting, cutting short whatever was left`,
      );
      releaseDataDirLockSync(resolve(dataDir));
      // 128 + the signal's number, as a shell reports a process the signal ended.
      process.exit(again ? (signal === 'SIGINT' ? 130 : 143) : 1);
    },
    exit: (code) => process.exit(code),
  });
}

main().catch((err: Error) => {
  console.error(`dsn local cloud: ${err.message}`);
  process.exit(1);
});

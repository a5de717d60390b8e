/**
 * What every benchmark starts from: a local cloud of stage `bench` (unthrottled rebuilds) on
 * ephemeral ports and a temporary data directory, this process's environment pointed at it as
 * the api function's is, and a plain S3 client for the raw-S3 peers.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { SDK_CLIENT_OPTIONS } from '../shared/aws/clients.ts';
import { PROJECT_ROOT, tempDir } from '../test/helpers/local-cloud.ts';

/**
 * `sqsPollers`: batches in flight at once per SQS event source (the local cloud's default is 2),
 * so the executions of a queue's function at once.
 */
export async function startBenchCloud(name: string, opts: { sqsPollers?: number } = {}) {
  const dir = await tempDir(name);
  const cloud = await startLocalCloud({
    serviceDir: PROJECT_ROOT,
    dataDir: dir.path,
    stage: 'bench',
    ports: { api: 0, aws: 0, dynamodb: 0, stepFunctions: 0 },
    log: () => {},
    ...(opts.sqsPollers ? { sqsPollers: opts.sqsPollers } : {}),
    // Where each sandbox's CPU goes, when asked (infra/local/sandbox-profile.ts).
    ...(process.env.DSN_SANDBOX_CPU_PROFILE
      ? { sandboxCpuProfileDir: process.env.DSN_SANDBOX_CPU_PROFILE }
      : {}),
  });
  Object.assign(process.env, cloud.env, cloud.functionEnvironment('api'));
  // The raw peers' client is configured as the project's own are.
  const s3 = new S3Client({
    ...SDK_CLIENT_OPTIONS,
    endpoint: cloud.endpoints.s3,
    region: cloud.service.region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  return {
    cloud,
    s3,
    api,
    stop: async () => {
      await cloud.stop();
      await dir.remove();
    },
  };
}

/**
 * Deployment to LocalStack. It needs a Docker engine running LocalStack; where there is none
 * (as on the machines this project is built on) the test says so and skips, never passes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { LOCALSTACK, localStackHealth, serverlessOnLocalStack } from '../../infra/localstack.ts';

async function dockerEngine(): Promise<string | undefined> {
  try {
    await promisify(execFile)('docker', ['info'], { timeout: 10_000 });
    return undefined;
  } catch (err) {
    return `no Docker engine (docker info failed: ${((err as Error).message.split('\n')[0] ?? '').slice(0, 160)})`;
  }
}

test('npm run deploy:local deploys the stack to LocalStack', {
  timeout: 15 * 60_000,
}, async (t) => {
  const noDocker = await dockerEngine();
  const health = await localStackHealth();
  if (noDocker || !health.ok) {
    t.skip(`LocalStack deploy not tested: ${noDocker ?? (health.ok ? '' : health.reason)}`);
    return;
  }
  assert.equal(await serverlessOnLocalStack(['deploy']), 0);
  const cfn = new CloudFormationClient({
    endpoint: LOCALSTACK,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: 'dsn-localstack' }));
  assert.match(Stacks?.[0]?.StackStatus ?? '', /_COMPLETE$/);
});

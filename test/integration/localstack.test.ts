/**
 * Deployment to LocalStack. It needs a Docker engine running LocalStack; where there is none
 * (as on the machines this project is built on) the test says so and skips, never passes.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { LOCALSTACK, localStackHealth } from '../../infra/localstack.ts';
import { PROJECT_ROOT } from '../helpers/paths.ts';

/** Why no Docker engine is reachable, or undefined when `docker info` succeeds. */
async function dockerEngine(): Promise<string | undefined> {
  try {
    await promisify(execFile)('docker', ['info'], { timeout: 10_000 });
    return undefined;
  } catch (err) {
    const e = err as Error & { code?: string | number; stderr?: string };
    if (e.code === 'ENOENT') return 'no Docker engine (the docker command is not installed)';
    const said = (e.stderr ?? '').trim().split('\n').at(-1) ?? '';
    return `no Docker engine (docker info exited ${e.code}: ${(said || e.message).slice(0, 160)})`;
  }
}

test('npm run deploy:local deploys the stack to LocalStack', {
  timeout: 15 * 60_000,
}, async (t) => {
  const noDocker = await dockerEngine();
  const health = await localStackHealth();
  const reasons = [noDocker, health.ok ? undefined : health.reason].filter(Boolean);
  if (reasons.length > 0) {
    const message = `LocalStack deploy not tested: ${reasons.join('; ')}`;
    console.log(message);
    t.skip(message);
    return;
  }
  // The same command a user runs, so the npm script itself is under test.
  const deploy = await new Promise<number>((resolve) => {
    const child = spawn('npm', ['run', 'deploy:local'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
    child.on('exit', (code) => resolve(code ?? 1));
  });
  assert.equal(deploy, 0, 'npm run deploy:local exit code');
  const cfn = new CloudFormationClient({
    endpoint: LOCALSTACK,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: 'dsn-localstack' }));
  assert.match(Stacks?.[0]?.StackStatus ?? '', /_COMPLETE$/);
});

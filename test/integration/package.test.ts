/**
 * The deployable: `serverless package` works offline with no AWS credentials, cfn-lint accepts
 * the template with zero errors, and the template keeps the security properties we promise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT, tempDir } from '../helpers/local-cloud.ts';

const run = promisify(execFile);

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read field by field
type Resource = { Type: string; Properties: Record<string, any> };

async function cfnLintVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await run('cfn-lint', ['--version']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

describe('serverless package', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let template: { Resources: Record<string, Resource> };
  let templatePath: string;

  before(async () => {
    dir = await tempDir('dsn-package');
    const env = { ...process.env };
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
    ])
      delete env[name];
    const bin = join(PROJECT_ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');
    await run(process.execPath, [bin, 'package', '--stage', 'ci', '--package', dir.path], {
      cwd: PROJECT_ROOT,
      env: { ...env, SLS_TELEMETRY_DISABLED: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
    templatePath = join(dir.path, 'cloudformation-template-update-stack.json');
    template = JSON.parse(await readFile(templatePath, 'utf8'));
  });

  after(async () => {
    await dir?.remove();
  });

  test('cfn-lint accepts the template with zero errors', async (t) => {
    const version = await cfnLintVersion();
    if (!version) {
      t.skip('cfn-lint is not on PATH; install it (pip install cfn-lint) to run this check');
      return;
    }
    // cfn-lint exits 2 for errors, 4 for warnings only, 0 for neither.
    const result = await run('cfn-lint', ['--format', 'parseable', templatePath]).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    const errors = result.out.split('\n').filter((l) => /:E\d{4}:/.test(l));
    assert.deepEqual(errors, [], `${version} reported errors`);
    assert.ok((result.code & 2) === 0, `cfn-lint exit code ${result.code}`);
  });

  test('every function runs with its own role, and no statement grants * actions or resources', () => {
    const resources = Object.entries(template.Resources);
    const functions = resources.filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    assert.ok(functions.length > 0);
    const roles = functions.map(([, r]) => JSON.stringify(r.Properties.Role));
    assert.equal(new Set(roles).size, functions.length, 'no two functions share a role');
    for (const [id, r] of resources.filter(([, r]) => r.Type === 'AWS::IAM::Role')) {
      for (const policy of r.Properties.Policies ?? []) {
        for (const s of policy.PolicyDocument.Statement) {
          for (const action of [s.Action].flat()) {
            assert.ok(action !== '*' && !String(action).endsWith(':*'), `${id} grants ${action}`);
          }
          for (const resource of [s.Resource].flat()) {
            assert.notEqual(resource, '*', `${id} grants ${JSON.stringify(s.Action)} on *`);
          }
        }
      }
    }
  });

  test('every bucket blocks public access, is encrypted, and refuses requests without TLS', () => {
    const resources = Object.entries(template.Resources);
    const buckets = resources.filter(([, r]) => r.Type === 'AWS::S3::Bucket');
    assert.equal(
      buckets.filter(([id]) => /^Unit\d+Bucket$/.test(id)).length,
      8,
      'one bucket per unit',
    );
    for (const [id, b] of buckets) {
      assert.deepEqual(
        b.Properties.PublicAccessBlockConfiguration,
        {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        id,
      );
      assert.ok(
        b.Properties.BucketEncryption?.ServerSideEncryptionConfiguration?.length,
        `${id} encryption`,
      );
      const policy = resources.find(
        ([, r]) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket?.Ref === id,
      );
      assert.ok(policy, `${id} has a bucket policy`);
      const deny = policy[1].Properties.PolicyDocument.Statement.find(
        // biome-ignore lint/suspicious/noExplicitAny: a policy statement from the template
        (s: Record<string, any>) =>
          s.Effect === 'Deny' && String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false',
      );
      assert.ok(deny, `${id} denies requests without TLS`);
    }
  });
});

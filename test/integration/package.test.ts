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
// biome-ignore lint/suspicious/noExplicitAny: a policy statement from the template
type Statement = Record<string, any>;

/** Where AWS accepts no narrower Resource than `*` (none is used today; X-Ray would be one). */
const ACTIONS_NEEDING_ANY_RESOURCE = new Set<string>();

async function cfnLintVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await run('cfn-lint', ['--version']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** Every IAM statement in the template, with the logical id of the resource that holds it. */
function iamStatements(resources: Record<string, Resource>): Array<[string, Statement]> {
  const out: Array<[string, Statement]> = [];
  for (const [id, r] of Object.entries(resources)) {
    const documents =
      r.Type === 'AWS::IAM::Role'
        ? // biome-ignore lint/suspicious/noExplicitAny: inline policies of a role
          (r.Properties.Policies ?? []).map((p: any) => p.PolicyDocument)
        : r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy'
          ? [r.Properties.PolicyDocument]
          : [];
    for (const doc of documents) for (const s of [doc.Statement].flat()) out.push([id, s]);
  }
  return out;
}

describe('serverless package', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let template: { Resources: Record<string, Resource> };
  let dsn: { unitCount: number; units: Array<{ bucket?: string } | null> };
  let templatePath: string;
  let artifact: Buffer;

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
    const state = JSON.parse(await readFile(join(dir.path, 'serverless-state.json'), 'utf8'));
    dsn = state.service.custom.dsn;
    artifact = await readFile(join(dir.path, 'dsn.zip'));
  });

  after(async () => {
    await dir?.remove();
  });

  test('cfn-lint accepts the template with zero errors', async (t) => {
    const version = await cfnLintVersion();
    if (!version) {
      t.skip('cfn-lint not found on PATH; install it (pip install cfn-lint) to run this check');
      return;
    }
    // cfn-lint exits with a bit mask: 2 errors, 4 warnings, 8 informational.
    const result = await run('cfn-lint', ['--format', 'parseable', templatePath]).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    const lines = result.out.split('\n').filter((l) => l.trim() !== '');
    const errors = lines.filter((l) => /:E\d{4}:/.test(l));
    const warnings = lines.filter((l) => /:W\d{4}:/.test(l));
    t.diagnostic(`${version}: ${errors.length} errors, ${warnings.length} warnings`);
    for (const w of warnings) t.diagnostic(w.slice(w.indexOf(':W') + 1));
    assert.deepEqual(errors, [], `${version} reported errors`);
    assert.ok((result.code & 2) === 0, `cfn-lint exit code ${result.code}`);
  });

  test('the bundles are ESM for Node 24 and leave the AWS SDK to the Lambda runtime', () => {
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    for (const f of functions) {
      assert.equal(f.Properties.Runtime, 'nodejs24.x', f.Properties.Handler);
      const file = `${String(f.Properties.Handler).replace(/\.[^.]+$/, '')}.mjs`;
      // Zip entry names are stored uncompressed, so the archive's bytes name its files.
      assert.ok(artifact.includes(file), `${file} is in the artifact`);
    }
    assert.ok(!artifact.includes('node_modules/'), 'dependencies are bundled, not copied');
  });

  test('every function runs with its own role, and no statement grants * actions or resources', () => {
    const resources = Object.entries(template.Resources);
    const functions = resources.filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    assert.ok(functions.length > 0);
    const roles = functions.map(([, r]) => JSON.stringify(r.Properties.Role));
    assert.equal(new Set(roles).size, functions.length, 'no two functions share a role');
    assert.equal(template.Resources.IamRoleLambdaExecution, undefined, 'no shared default role');
    for (const [id, r] of resources.filter(([, r]) => r.Type === 'AWS::IAM::Role')) {
      assert.equal(r.Properties.ManagedPolicyArns, undefined, `${id} has no managed policies`);
    }
    const statements = iamStatements(template.Resources);
    assert.ok(statements.length > functions.length);
    for (const [id, s] of statements) {
      assert.equal(s.NotAction, undefined, `${id} uses NotAction`);
      assert.equal(s.NotResource, undefined, `${id} uses NotResource`);
      const actions = [s.Action].flat().map(String);
      for (const action of actions) {
        assert.ok(action !== '*' && !action.endsWith(':*'), `${id} grants ${action}`);
      }
      for (const resource of [s.Resource].flat()) {
        if (resource !== '*') continue;
        const allowed = actions.every((a) => ACTIONS_NEEDING_ANY_RESOURCE.has(a));
        assert.ok(allowed, `${id} grants ${actions.join(', ')} on *`);
      }
    }
  });

  test('every bucket blocks public access, is encrypted, owner-enforced, and refuses requests without TLS', () => {
    const resources = Object.entries(template.Resources);
    const buckets = resources.filter(([, r]) => r.Type === 'AWS::S3::Bucket');
    assert.ok(buckets.length > 0);
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
      assert.deepEqual(
        b.Properties.OwnershipControls?.Rules,
        [{ ObjectOwnership: 'BucketOwnerEnforced' }],
        `${id} ownership`,
      );
      const policy = resources.find(
        ([, r]) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket?.Ref === id,
      );
      assert.ok(policy, `${id} has a bucket policy`);
      const deny = policy[1].Properties.PolicyDocument.Statement.find(
        (s: Statement) =>
          s.Effect === 'Deny' &&
          s.Principal === '*' &&
          String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false',
      );
      assert.ok(deny, `${id} denies requests without TLS`);
    }
  });

  test('every unit bucket, created by the stack or named by the operator, has a TLS-only bucket policy', () => {
    for (let i = 0; i < dsn.unitCount; i++) {
      const named = dsn.units?.[i]?.bucket;
      const policy = template.Resources[`Unit${i}BucketPolicy`];
      assert.equal(policy?.Type, 'AWS::S3::BucketPolicy', `unit ${i} has a bucket policy`);
      assert.deepEqual(policy.Properties.Bucket, named ?? { Ref: `Unit${i}Bucket` }, `unit ${i}`);
      const [deny, ...others] = policy.Properties.PolicyDocument.Statement;
      assert.equal(others.length, 0, `unit ${i}: the policy only denies requests without TLS`);
      assert.equal(deny.Effect, 'Deny');
      assert.equal(deny.Principal, '*');
      assert.equal(deny.Action, 's3:*');
      assert.equal(deny.Condition.Bool['aws:SecureTransport'], 'false');
      assert.equal(deny.Resource.length, 2, `unit ${i}: the bucket and its objects`);
    }
  });

  test('the pool has one bucket (unless an existing one is named), queue, DLQ, subscription and function per unit', () => {
    const ids = Object.keys(template.Resources);
    const count = (pattern: RegExp) => ids.filter((id) => pattern.test(id)).length;
    const existing = (dsn.units ?? []).filter((u) => u?.bucket).length;
    assert.ok(Number.isInteger(dsn.unitCount) && dsn.unitCount > 0);
    assert.equal(count(/^Unit\d+Bucket$/), dsn.unitCount - existing);
    assert.equal(count(/^Unit\d+BucketPolicy$/), dsn.unitCount);
    assert.equal(count(/^Unit\d+Queue$/), dsn.unitCount);
    assert.equal(count(/^Unit\d+DeadLetterQueue$/), dsn.unitCount);
    assert.equal(count(/^Unit\d+Subscription$/), dsn.unitCount);
    assert.equal(count(/^Unit\d+QueuePolicy$/), dsn.unitCount);
    assert.equal(count(/^Unit\d+Role$/), dsn.unitCount);
    assert.equal(count(/^Unit\d+LambdaFunction$/), dsn.unitCount);
    const env = template.Resources.ApiLambdaFunction?.Properties.Environment.Variables;
    assert.equal(env.DSN_UNIT_COUNT, String(dsn.unitCount));
    assert.equal(env.DSN_UNIT_BUCKETS['Fn::Join'][1].length, dsn.unitCount);
  });
});

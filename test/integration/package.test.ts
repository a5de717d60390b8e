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
import { isAccessKeyId } from '../../shared/access/access-key.ts';
import { PROJECT_ROOT, tempDir } from '../helpers/local-cloud.ts';

const run = promisify(execFile);
const SERVERLESS = join(PROJECT_ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read field by field
type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };
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

/**
 * A template value as AWS would give it, at its longest: region `ap-southeast-2`, a 12-digit
 * account, CloudFormation's 13-character suffix on generated names, a Lambda URL's 32-character
 * id. Only the forms the functions' environments use; anything else fails the test.
 */
function awsValue(value: unknown, resources: Record<string, Resource>, stack: string): string {
  const region = 'ap-southeast-2';
  const account = '123456789012';
  const nameOf = (id: string): string => {
    const p = resources[id]?.Properties ?? {};
    const given = p.QueueName ?? p.TableName ?? p.TopicName ?? p.BucketName ?? p.Name;
    return given === undefined ? `${stack}-${id}-ABCDEFGHIJKLM` : awsValue(given, resources, stack);
  };
  const pseudo: Record<string, string> = {
    'AWS::Region': region,
    'AWS::AccountId': account,
    'AWS::Partition': 'aws',
    'AWS::StackName': stack,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const ref = (id: string): string => {
    if (pseudo[id] !== undefined) return pseudo[id];
    const type = resources[id]?.Type;
    if (type === 'AWS::SQS::Queue')
      return `https://sqs.${region}.amazonaws.com/${account}/${nameOf(id)}`;
    if (type === 'AWS::SNS::Topic') return `arn:aws:sns:${region}:${account}:${nameOf(id)}`;
    if (type === 'AWS::SecretsManager::Secret')
      return `arn:aws:secretsmanager:${region}:${account}:secret:${nameOf(id)}-AbCdEf`;
    if (type === 'AWS::KMS::Key') return '1234abcd-12ab-34cd-56ef-1234567890ab';
    if (type === 'AWS::StepFunctions::StateMachine')
      return `arn:aws:states:${region}:${account}:stateMachine:${nameOf(id)}`;
    if (type === 'AWS::DynamoDB::Table' || type === 'AWS::S3::Bucket') return nameOf(id);
    throw new Error(`no AWS form for Ref ${id} (${type})`);
  };
  const getAtt = (id: string, attribute: string): string => {
    const type = resources[id]?.Type;
    if (attribute === 'FunctionUrl')
      return `https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.${region}.on.aws/`;
    if (attribute === 'Arn' && type === 'AWS::SQS::Queue')
      return `arn:aws:sqs:${region}:${account}:${nameOf(id)}`;
    if (attribute === 'Arn' && type === 'AWS::DynamoDB::Table')
      return `arn:aws:dynamodb:${region}:${account}:table/${nameOf(id)}`;
    if (attribute === 'Arn' && type === 'AWS::KMS::Key')
      return `arn:aws:kms:${region}:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    if (attribute === 'QueueName') return nameOf(id);
    throw new Error(`no AWS form for GetAtt ${id}.${attribute} (${type})`);
  };
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  // biome-ignore lint/suspicious/noExplicitAny: an intrinsic function of the template
  const o = value as Record<string, any>;
  if (typeof o.Ref === 'string') return ref(o.Ref);
  if (Array.isArray(o['Fn::GetAtt'])) return getAtt(o['Fn::GetAtt'][0], o['Fn::GetAtt'][1]);
  if (Array.isArray(o['Fn::Join']))
    return o['Fn::Join'][1]
      .map((v: unknown) => awsValue(v, resources, stack))
      .join(o['Fn::Join'][0]);
  if (o['Fn::Sub'] !== undefined) {
    const [template, vars = {}] = [o['Fn::Sub']].flat() as [string, Record<string, unknown>?];
    return template.replace(/\$\{([^}]+)\}/g, (_, e: string) =>
      e in vars
        ? awsValue(vars[e], resources, stack)
        : e.includes('.') && !e.startsWith('AWS::')
          ? getAtt(e.split('.')[0] as string, e.split('.')[1] as string)
          : ref(e),
    );
  }
  throw new Error(`no AWS form for ${JSON.stringify(value)}`);
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

/**
 * What each role may do, by resource: exactly what its function calls (shared/aws/store/wire.ts
 * and shared/aws/repair/wire.ts say which function uses which adapter). `logs` is the function's
 * own log group; `Unit*Bucket` means every unit's bucket, and `OwnBucket` / `OwnQueue` unit i's.
 */
const LOGS = 'logs:CreateLogStream logs:PutLogEvents';
const CONSUMES =
  'sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:ReceiveMessage';
// CloudFormation's pseudo parameters, as an Fn::Sub names them.
const [PARTITION, REGION, ACCOUNT] = ['Partition', 'Region', 'AccountId'].map(
  (p) => `\${AWS::${p}}`,
);
/** What announces listener events: participant entries, sequences, a message to each node. */
const LISTENER_NODES = 4;
const ANNOUNCES: Record<string, string> = {
  // GetItem: an event waits for an earlier number of its key to be sent (fan-out.ts).
  ParticipantsTable: 'dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
  ...Object.fromEntries(
    Array.from({ length: LISTENER_NODES }, (_, i) => [`ListenerNode${i}Queue`, 'sqs:SendMessage']),
  ),
};
const GRANTS: Record<string, Record<string, string>> = {
  ApiRole: {
    ...ANNOUNCES,
    // Admin commands: the audit log, freezes, and role.release on the leases.
    AdminTable:
      'dynamodb:DeleteItem dynamodb:GetItem dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem',
    ListenersTable:
      'dynamodb:BatchGetItem dynamodb:DeleteItem dynamodb:GetItem dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem',
    logs: LOGS,
    VaultsTable:
      'dynamodb:DescribeTable dynamodb:GetItem dynamodb:PutItem dynamodb:Scan dynamodb:UpdateItem',
    RevisionsTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem',
    'RevisionsTable/index/dispersing': 'dynamodb:Query',
    ObjectsTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:Query',
    // DeleteItem: a stale proposal's open slot, freed as a new proposal replaces it.
    ControlTable: 'dynamodb:DeleteItem dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    NetworkTopic: 'sns:GetTopicAttributes sns:Publish',
    StatusTopic: 'sns:GetTopicAttributes sns:Publish',
    EventsTopic: 'sns:GetTopicAttributes sns:Publish',
    RepairQueue: 'sqs:SendMessage',
    DispersalQueue: 'sqs:SendMessage',
    RebuildQueue: 'sqs:SendMessage',
    WorkQueue: 'sqs:SendMessage',
    WorkTable:
      'dynamodb:BatchWriteItem dynamodb:GetItem dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem',
    'WorkTable/index/open': 'dynamodb:Query',
    StagingBucket: 's3:ListBucket',
    // An aborted upload's parts go, and a presigned one's multipart upload.
    'StagingBucket/*':
      's3:AbortMultipartUpload s3:DeleteObject s3:ListMultipartUploadParts s3:PutObject',
    'Unit*Bucket': 's3:ListBucket',
    // A delete of a key staged at edge units removes its slices there.
    'Unit*Bucket/*': 's3:DeleteObject s3:GetObject s3:PutObject',
    AccessKeysTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:Scan dynamodb:UpdateItem',
    EdgeTable: 'dynamodb:DeleteItem dynamodb:GetItem dynamodb:PutItem dynamodb:Query',
    EdgePlanQueue: 'sqs:SendMessage',
    AccessKeysKey: 'kms:Encrypt',
    RootKeySecret: 'secretsmanager:GetSecretValue',
  },
  /** The request authorizer: reads keys, decrypts their secrets, reads the root key. */
  AuthorizerRole: {
    logs: LOGS,
    AccessKeysTable: 'dynamodb:GetItem',
    AccessKeysKey: 'kms:Decrypt',
    RootKeySecret: 'secretsmanager:GetSecretValue',
  },
  /** Serves the web console's files from its own package: logs, nothing else. */
  ConsoleRole: { logs: LOGS },
  /** Streams reads above the API's payload limit to holders of a read grant. */
  ReaderRole: {
    logs: LOGS,
    ControlTable: 'dynamodb:GetItem',
    RepairQueue: 'sqs:SendMessage',
    // ListBucket: a missing slice is 404 NoSuchKey, not 403 (reader.ts tells them apart).
    'Unit*Bucket': 's3:ListBucket',
    'Unit*Bucket/*': 's3:GetObject',
  },
  DisperserRole: {
    logs: LOGS,
    DispersalQueue: `${CONSUMES} sqs:SendMessage`,
    StagingBucket: 's3:ListBucket',
    'StagingBucket/*': 's3:DeleteObject s3:GetObject',
    'Unit*Bucket/*': 's3:PutObject',
    VaultsTable: 'dynamodb:GetItem',
    RevisionsTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    ObjectsTable: 'dynamodb:GetItem',
    ControlTable: 'dynamodb:GetItem dynamodb:UpdateItem',
    NetworkTopic: 'sns:Publish',
    StatusTopic: 'sns:Publish',
  },
  CommitterRole: {
    ...ANNOUNCES,
    logs: LOGS,
    StatusQueue: CONSUMES,
    RevisionsTable: 'dynamodb:GetItem dynamodb:UpdateItem',
    ObjectsTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    // The commit fence reads the vault's current topology.
    VaultsTable: 'dynamodb:GetItem',
    EventsTopic: 'sns:Publish',
    // The scan task: the uploaded rules, the object's slices, the damage a scan's read meets;
    // the index task notes a late write on the vault's topology job.
    ControlTable: 'dynamodb:GetItem dynamodb:UpdateItem',
    // The edge task unstages the old revision's copies from the edge units.
    'Unit*Bucket': 's3:ListBucket',
    'Unit*Bucket/*': 's3:DeleteObject s3:GetObject',
    RepairQueue: 'sqs:SendMessage',
    EdgeTable: 'dynamodb:DeleteItem dynamodb:GetItem dynamodb:Query',
  },
  /** Pre-positioning's planner: scores and staging records, manifests, slices home and edge. */
  EdgePlannerRole: {
    logs: LOGS,
    EdgeTable:
      'dynamodb:DeleteItem dynamodb:DescribeTable dynamodb:GetItem dynamodb:PutItem dynamodb:Query',
    ObjectsTable: 'dynamodb:GetItem dynamodb:Query',
    EdgePlanQueue: CONSUMES,
    // The edge-planner role's lease.
    AdminTable: 'dynamodb:GetItem dynamodb:Query dynamodb:UpdateItem',
    'Unit*Bucket/*': 's3:DeleteObject s3:GetObject s3:PutObject',
    // Edge units listed for copies no staging record names.
    'Unit*Bucket': 's3:ListBucket',
  },
  JanitorRole: {
    logs: LOGS,
    RevisionsTable: 'dynamodb:BatchWriteItem dynamodb:GetItem dynamodb:Query dynamodb:UpdateItem',
    'RevisionsTable/index/due': 'dynamodb:Query',
    'Unit*Bucket': 's3:ListBucket',
    'Unit*Bucket/*': 's3:DeleteObject',
    // The sweep of expired temporary listeners and their `dsn watch` queues.
    ListenersTable:
      'dynamodb:BatchGetItem dynamodb:DeleteItem dynamodb:GetItem dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem',
    ParticipantsTable: 'dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
    [`arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:dsn-watch-*`]: 'sqs:DeleteQueue',
    // The janitor role's lease.
    AdminTable: 'dynamodb:GetItem dynamodb:Query dynamodb:UpdateItem',
  },
  RebuilderRole: {
    ...ANNOUNCES,
    logs: LOGS,
    VaultsTable: 'dynamodb:GetItem dynamodb:Scan',
    // A replaced revision whose retire a crash lost is retired by the orphan sweep.
    RevisionsTable: 'dynamodb:GetItem dynamodb:UpdateItem',
    ObjectsTable: 'dynamodb:GetItem dynamodb:Query',
    ControlTable: 'dynamodb:DescribeTable dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    RebuildQueue: `${CONSUMES} sqs:SendMessage`,
    // The rebuild-scheduler role's lease.
    AdminTable: 'dynamodb:GetItem dynamodb:Query dynamodb:UpdateItem',
    RepairQueue: 'sqs:DeleteMessage sqs:ReceiveMessage',
    EventsTopic: 'sns:Publish',
    'Unit*Bucket': 's3:ListBucket',
    'Unit*Bucket/*': 's3:DeleteObject s3:GetObject s3:PutObject',
  },
  WorkerRole: {
    logs: LOGS,
    WorkQueue: CONSUMES,
    WorkTable: 'dynamodb:BatchWriteItem dynamodb:GetItem dynamodb:Query dynamodb:UpdateItem',
    'WorkTable/index/open': 'dynamodb:Query',
    VaultsTable: 'dynamodb:GetItem dynamodb:Scan',
    RevisionsTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    ObjectsTable: 'dynamodb:GetItem dynamodb:Query',
    NetworkTopic: 'sns:Publish',
    StatusTopic: 'sns:Publish',
    RepairQueue: 'sqs:SendMessage',
    // The writer's scan reads the uploaded rules.
    ControlTable: 'dynamodb:GetItem',
    'Unit*Bucket': 's3:ListBucket',
    'Unit*Bucket/*': 's3:GetObject s3:PutObject',
  },
  /** A delivery node: its own queue, its tables, and the targets listeners name. */
  ListenerNodeRole: {
    logs: LOGS,
    OwnQueue: CONSUMES,
    ListenersTable: 'dynamodb:BatchGetItem dynamodb:PutItem dynamodb:UpdateItem',
    ParticipantsTable: 'dynamodb:UpdateItem',
    [`arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:*`]: 'sqs:SendMessage',
    [`arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:*`]: 'lambda:InvokeFunction',
  },
  UnitRole: {
    logs: LOGS,
    OwnQueue: CONSUMES,
    OwnBucket: 's3:ListBucket',
    'OwnBucket/*': 's3:GetObject s3:PutObject',
    StatusTopic: 'sns:Publish',
    VaultsTable: 'dynamodb:GetItem dynamodb:Scan dynamodb:UpdateItem',
    ControlTable: 'dynamodb:DeleteItem dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    TopologyQueue: 'sqs:SendMessage',
    // A frozen vault's mark on this unit (vault.freeze).
    AdminTable: 'dynamodb:GetItem',
  },
  /** The topology jobs: move slices, rewrite objects, checkpoint. */
  TopologyRole: {
    logs: LOGS,
    // The topology-applier role's lease (the scheduled resume of jobs whose holder died).
    AdminTable: 'dynamodb:GetItem dynamodb:Query dynamodb:UpdateItem',
    TopologyQueue: `${CONSUMES} sqs:SendMessage`,
    VaultsTable: 'dynamodb:GetItem dynamodb:Scan',
    RevisionsTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    ObjectsTable: 'dynamodb:GetItem dynamodb:Query dynamodb:UpdateItem',
    ControlTable: 'dynamodb:GetItem dynamodb:UpdateItem',
    RepairQueue: 'sqs:SendMessage',
    NetworkTopic: 'sns:Publish',
    StatusTopic: 'sns:Publish',
    'Unit*Bucket': 's3:ListBucket',
    'Unit*Bucket/*': 's3:DeleteObject s3:GetObject s3:PutObject',
  },
};

/** Replication (infra/resources/replication.cjs): workers, and what either end of a copy takes. */
const REPLICATION_WORKERS = 4;
const ANY_BUCKET = 'arn:${AWS::Partition}:s3:::*';
const ANY_OBJECT = 'arn:${AWS::Partition}:s3:::*/*';
/** The secrets a bucket side may name for its credentials (side.ts SECRET_PREFIX). */
const REPLICATION_SECRETS =
  'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:dsn/replication/*';
const LISTS_ENDS = {
  [ANY_BUCKET]: 's3:ListBucket',
  [REPLICATION_SECRETS]: 'secretsmanager:GetSecretValue',
  VaultsTable: 'dynamodb:GetItem',
  ObjectsTable: 'dynamodb:GetItem dynamodb:Query',
};
Object.assign(GRANTS, {
  ReplicationStateMachineRole: { ReplicationControllerLambdaFunction: 'lambda:InvokeFunction' },
  ReplicationLogRole: {
    logs: LOGS,
    ReplicationStatusQueue: CONSUMES,
    ReplicationTable: 'dynamodb:GetItem dynamodb:UpdateItem',
    // A migrated copy's remainder, sent as soon as its stop is logged (migration.ts).
    ...Object.fromEntries(
      Array.from({ length: REPLICATION_WORKERS }, (_, i) => [
        `ReplicationWorker${i}Queue`,
        'sqs:SendMessage',
      ]),
    ),
  },
  ReplicationControllerRole: {
    logs: LOGS,
    // DescribeTable: a fenced write refused by the rebalancer's token (fence.ts).
    ReplicationTable:
      'dynamodb:BatchWriteItem dynamodb:DescribeTable dynamodb:GetItem dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem',
    'ReplicationTable/index/open': 'dynamodb:Query',
    // The replication-rebalancer role's lease.
    AdminTable: 'dynamodb:GetItem dynamodb:Query dynamodb:UpdateItem',
    ...Object.fromEntries(
      Array.from({ length: REPLICATION_WORKERS }, (_, i) => [
        `ReplicationWorker${i}Queue`,
        'sqs:SendMessage',
      ]),
    ),
    ...LISTS_ENDS,
  },
  /**
   * A replication worker: its own queue, the status queue, its claims on tasks in the log, and
   * both ends of its copies.
   */
  ReplicationWorkerRole: {
    ...ANNOUNCES,
    logs: LOGS,
    // Records of a batch not begun are sent to it again as new messages (worker-batch.ts).
    OwnQueue: `${CONSUMES} sqs:SendMessage`,
    ReplicationTable: 'dynamodb:GetItem dynamodb:UpdateItem',
    ReplicationStatusQueue: 'sqs:SendMessage',
    ...LISTS_ENDS,
    [ANY_OBJECT]: 's3:AbortMultipartUpload s3:DeleteObject s3:GetObject s3:PutObject',
    RevisionsTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    ObjectsTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:Query',
    ControlTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    NetworkTopic: 'sns:Publish',
    StatusTopic: 'sns:Publish',
    EventsTopic: 'sns:Publish',
    RepairQueue: 'sqs:SendMessage',
    DispersalQueue: 'sqs:SendMessage',
  },
});
const SENDS_TASKS = Object.fromEntries(
  Array.from({ length: REPLICATION_WORKERS }, (_, i) => [
    `ReplicationWorker${i}Queue`,
    'sqs:SendMessage',
  ]),
);
Object.assign(GRANTS.CommitterRole as Record<string, string>, {
  ReplicationTable: 'dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
  ...SENDS_TASKS,
});
Object.assign(GRANTS.ApiRole as Record<string, string>, {
  ...SENDS_TASKS,
  ReplicationTable:
    'dynamodb:DeleteItem dynamodb:GetItem dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem',
  'ReplicationTable/index/open': 'dynamodb:Query',
  ReplicationStepFunctionsStateMachine: 'states:StartExecution',
  'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:dsn-ci-replication:*':
    'states:DescribeExecution states:RedriveExecution states:StopExecution',
});

/** Item-key prefixes each role may touch in the control table (dynamodb:LeadingKeys). */
const CONTROL_KEYS: Record<string, string[]> = {
  ApiRole: [
    'upload/*',
    'rebuild#*',
    'read/*',
    'scan-rules',
    'topology/*',
    'topology-open/*',
    'topologies/*',
    'topology-job/*',
  ],
  TopologyRole: ['topology-job/*'],
  ReaderRole: ['read/*'],
  CommitterRole: ['scan-rules', 'topology-job/*'],
  DisperserRole: ['upload/*', 'scan-rules'],
  WorkerRole: ['scan-rules'],
  RebuilderRole: ['rebuild#*'],
  ...Object.fromEntries(
    Array.from({ length: REPLICATION_WORKERS }, (_, i) => [
      `ReplicationWorker${i}Role`,
      ['upload/*', 'scan-rules'],
    ]),
  ),
};

/** The control-table keys role `id` owns: its own, or a unit's (its counters, topology votes). */
function controlKeysOf(id: string): string[] | undefined {
  const unit = /^Unit(\d+)Role$/.exec(id)?.[1];
  return unit === undefined
    ? CONTROL_KEYS[id]
    : [`counter/unit/${unit}/*`, 'topology/*', 'topology-open/*', 'topologies/*', 'topology-job/*'];
}

/** A statement's Resource as a name: `VaultsTable`, `StagingBucket/*`, `Unit3Bucket`, `logs`. */
function resourceName(r: unknown, namedBuckets: Map<string, number>): string {
  if (typeof r === 'string') return r;
  // biome-ignore lint/suspicious/noExplicitAny: an intrinsic function of the template
  const o = r as Record<string, any>;
  if (typeof o.Ref === 'string') return o.Ref;
  if (Array.isArray(o['Fn::GetAtt']) && o['Fn::GetAtt'][1] === 'Arn') return o['Fn::GetAtt'][0];
  if (Array.isArray(o['Fn::Join']) && o['Fn::Join'][0] === '') {
    return o['Fn::Join'][1].map((p: unknown) => resourceName(p, namedBuckets)).join('');
  }
  if (typeof o['Fn::Sub'] === 'string') {
    const sub: string = o['Fn::Sub'];
    if (sub.includes(':log-group:/aws/lambda/')) return 'logs';
    const bucket = /^arn:\$\{AWS::Partition\}:s3:::([^/]+)$/.exec(sub)?.[1];
    if (bucket !== undefined && namedBuckets.has(bucket))
      return `Unit${namedBuckets.get(bucket)}Bucket`;
    return sub.replace(/\$\{([A-Za-z0-9]+)(\.Arn)?\}/g, '$1');
  }
  throw new Error(`unrecognised Resource ${JSON.stringify(r)}`);
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
    await run(process.execPath, [SERVERLESS, 'package', '--stage', 'ci', '--package', dir.path], {
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

  test("every function's environment fits Lambda's 4 KB at AWS's longest names, with a stage of up to 10 characters", (t) => {
    // Lambda measures the JSON of the variables ("String measured: {...}" in its refusal).
    const sizes: Record<string, number> = {};
    for (const [id, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::Lambda::Function') continue;
      const variables = r.Properties.Environment?.Variables ?? {};
      const json = JSON.stringify(
        Object.fromEntries(
          Object.entries(variables).map(([k, v]) => [k, awsValue(v, template.Resources, 'dsn-ci')]),
        ),
      );
      // This package's stage is `ci`; a stage of 10 characters adds 8 at every mention.
      const mentions = json.split('dsn-ci').length - 1;
      sizes[id] = Buffer.byteLength(json) + 8 * mentions;
    }
    const largest = Object.entries(sizes).sort((a, b) => b[1] - a[1]);
    t.diagnostic(`largest environments (bytes): ${JSON.stringify(largest.slice(0, 3))}`);
    const over = largest.filter(([, bytes]) => bytes > 4096);
    assert.deepEqual(
      over,
      [],
      `largest: ${JSON.stringify(
        Object.entries(sizes)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3),
      )}`,
    );
    assert.ok(Object.keys(sizes).length > 10, 'every function measured');
  });

  test('the root key the stack generates has a valid access key id', () => {
    const generate = template.Resources.RootKeySecret?.Properties.GenerateSecretString;
    const fields = JSON.parse(
      awsValue(generate?.SecretStringTemplate, template.Resources, 'dsn-ci'),
    );
    assert.ok(isAccessKeyId(fields.accessKeyId), fields.accessKeyId);
    assert.equal(generate?.GenerateStringKey, 'secretAccessKey');
    assert.ok((generate?.PasswordLength ?? 0) >= 20);
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

  test('every route of the HTTP API runs the signature authorizer, with no result cache', () => {
    const routes = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::ApiGatewayV2::Route',
    );
    const authorizers = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::ApiGatewayV2::Authorizer',
    );
    assert.equal(authorizers.length, 1);
    const [authorizerId, authorizer] = authorizers[0] as [string, Resource];
    assert.equal(authorizer.Properties.AuthorizerType, 'REQUEST');
    assert.equal(authorizer.Properties.EnableSimpleResponses, true);
    assert.equal(authorizer.Properties.AuthorizerPayloadFormatVersion, '2.0');
    assert.equal(authorizer.Properties.AuthorizerResultTtlInSeconds, 0);
    assert.ok(routes.length > 16);
    // The console's files are the one exception: a browser loads them before it has a key.
    const unsigned = routes.filter(([, r]) => r.Properties.AuthorizationType !== 'CUSTOM');
    assert.deepEqual(unsigned.map(([, r]) => r.Properties.RouteKey).sort(), [
      'GET /console',
      'GET /console/{path+}',
    ]);
    for (const [id, route] of routes) {
      if (unsigned.some(([u]) => u === id)) continue;
      assert.equal(
        route.Properties.AuthorizationType,
        'CUSTOM',
        `${id} (${route.Properties.RouteKey})`,
      );
      assert.deepEqual(route.Properties.AuthorizerId, { Ref: authorizerId }, id);
    }
  });

  test('each role is named <stack>-<region>-<function>, within the 64 characters IAM allows', () => {
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    for (const f of functions) {
      const [roleId] = f.Properties.Role['Fn::GetAtt'];
      const name: string = f.Properties.FunctionName;
      const key = name.slice('dsn-ci-'.length);
      const roleName = template.Resources[roleId]?.Properties.RoleName;
      assert.deepEqual(roleName, { 'Fn::Sub': `dsn-ci-\${AWS::Region}-${key}` }, name);
      assert.ok(roleName['Fn::Sub'].replace('${AWS::Region}', 'ap-southeast-1').length <= 64);
    }
  });

  test('each role is granted exactly what its function calls, object actions on objects and bucket actions on buckets', () => {
    const named = new Map<string, number>();
    for (const [i, u] of (dsn.units ?? []).entries()) if (u?.bucket) named.set(u.bucket, i);
    const roles = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
    assert.equal(
      roles.length,
      Object.keys(GRANTS).length - 3 + dsn.unitCount + LISTENER_NODES + REPLICATION_WORKERS,
      'no other roles',
    );
    const mismatches: string[] = [];
    for (const [roleId] of roles) {
      const unit = /^Unit(\d+)Role$/.exec(roleId)?.[1];
      const node = /^ListenerNode(\d+)Role$/.exec(roleId)?.[1];
      const worker = /^ReplicationWorker(\d+)Role$/.exec(roleId)?.[1];
      const expected =
        GRANTS[
          unit !== undefined
            ? 'UnitRole'
            : node !== undefined
              ? 'ListenerNodeRole'
              : worker !== undefined
                ? 'ReplicationWorkerRole'
                : roleId
        ];
      assert.ok(expected, `${roleId} is expected`);
      const granted = new Map<string, Set<string>>();
      const units = new Map<string, Set<number>>();
      for (const [id, s] of iamStatements(template.Resources)) {
        if (id !== roleId) continue;
        assert.equal(s.Effect, 'Allow', `${roleId} has only Allow statements`);
        for (const resource of [s.Resource].flat()) {
          let name = resourceName(resource, named);
          if (node !== undefined && name === `ListenerNode${node}Queue`) name = 'OwnQueue';
          if (worker !== undefined && name === `ReplicationWorker${worker}Queue`) name = 'OwnQueue';
          const u = /^Unit(\d+)(Bucket|Queue)(.*)$/.exec(name);
          if (u) {
            const [, index, kind, rest] = u;
            if (unit !== undefined) {
              assert.equal(index, unit, `${roleId} reaches unit ${index}'s ${kind}`);
              name = `Own${kind}${rest}`;
            } else {
              name = `Unit*${kind}${rest}`;
              units.set(name, (units.get(name) ?? new Set()).add(Number(index)));
            }
          }
          const actions = granted.get(name) ?? new Set();
          for (const a of [s.Action].flat()) actions.add(a);
          granted.set(name, actions);
        }
      }
      for (const [name, indices] of units) {
        assert.equal(indices.size, dsn.unitCount, `${roleId}: ${name} names every unit`);
      }
      const actual: Record<string, string> = {};
      for (const [name, actions] of granted) {
        if (actions.size > 0) actual[name] = [...actions].sort().join(' ');
      }
      try {
        assert.deepEqual(actual, expected, roleId);
      } catch (err) {
        mismatches.push(`${roleId}: ${(err as Error).message}`);
      }
    }
    // Every role's difference at once, not the first one only.
    assert.deepEqual(mismatches, []);
  });

  test('the control table is reached only through the item keys each role owns (dynamodb:LeadingKeys)', () => {
    // A role may split its keys over statements (other actions on other keys): each names some
    // of its keys, and together they name them all.
    const named = new Map<string, Set<string>>();
    for (const [id, s] of iamStatements(template.Resources)) {
      const resources = [s.Resource].flat();
      const control = resources.some((r) => resourceName(r, new Map()) === 'ControlTable');
      if (!control) continue;
      // DescribeTable reads the key schema (a fenced write refused, fence.ts), no item: it
      // takes no item-key condition.
      if ([s.Action].flat().every((a) => a === 'dynamodb:DescribeTable')) continue;
      assert.equal(resources.length, 1, `${id}: the conditioned statement names the table alone`);
      const keys = controlKeysOf(id);
      assert.ok(keys, `${id} is not expected to reach the control table`);
      const condition = s.Condition as
        | { 'ForAllValues:StringLike'?: { 'dynamodb:LeadingKeys'?: string[] } }
        | undefined;
      const leading = condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
      assert.deepEqual(
        s.Condition,
        { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': leading } },
        `${id}: one LeadingKeys condition`,
      );
      assert.ok(
        leading && leading.length > 0 && leading.every((k) => keys.includes(k)),
        `${id} touches only ${keys.join(', ')}, not ${leading}`,
      );
      for (const k of leading) named.set(id, (named.get(id) ?? new Set()).add(k));
    }
    for (const [id, keys] of named)
      assert.deepEqual([...keys].sort(), [...(controlKeysOf(id) ?? [])].sort(), `${id}'s keys`);
  });

  test('each topic denies Publish to all but its publishers, the very roles IAM lets publish there', () => {
    const units = Array.from({ length: dsn.unitCount }, (_, i) => `Unit${i}Role`);
    const copiers = Array.from(
      { length: REPLICATION_WORKERS },
      (_, i) => `ReplicationWorker${i}Role`,
    );
    const expected: Record<string, string[]> = {
      NetworkTopic: ['ApiRole', 'DisperserRole', 'WorkerRole', 'TopologyRole', ...copiers],
      StatusTopic: ['ApiRole', 'DisperserRole', 'WorkerRole', 'TopologyRole', ...units, ...copiers],
      EventsTopic: ['ApiRole', 'CommitterRole', 'RebuilderRole', ...copiers],
    };
    const topics = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::SNS::Topic',
    );
    assert.deepEqual(topics.map(([id]) => id).sort(), Object.keys(expected).sort());
    const statements = iamStatements(template.Resources);
    const roleByArn = new Map<string, string>();
    for (const [id, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::IAM::Role') continue;
      const name = r.Properties.RoleName?.['Fn::Sub'];
      roleByArn.set(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${name}`, id);
    }
    for (const [topic] of topics) {
      const policies = Object.values(template.Resources).filter(
        (r) =>
          r.Type === 'AWS::SNS::TopicPolicy' &&
          // biome-ignore lint/suspicious/noExplicitAny: Topics of a TopicPolicy
          r.Properties.Topics.some((t: any) => t.Ref === topic),
      );
      assert.equal(policies.length, 1, `${topic} has one topic policy`);
      const publishers = (expected[topic] ?? []).map((id) => id.replace(/Role$/, 'LambdaFunction'));
      assert.deepEqual(
        [...(policies[0]?.DependsOn ?? [])].sort(),
        publishers.sort(),
        `${topic}: set once its publishers run on the roles it names`,
      );
      const [deny, ...others] = policies[0]?.Properties.PolicyDocument.Statement ?? [];
      assert.equal(others.length, 0, `${topic}: the policy allows nothing`);
      assert.equal(deny.Effect, 'Deny');
      assert.equal(deny.Principal, '*');
      assert.deepEqual([deny.Action].flat(), ['sns:Publish']);
      assert.deepEqual(deny.Resource, { Ref: topic });
      const exempt = deny.Condition.ArnNotEquals['aws:PrincipalArn'].map(
        (arn: Statement) => roleByArn.get(arn['Fn::Sub']) ?? JSON.stringify(arn),
      );
      assert.deepEqual(
        [...exempt].sort(),
        [...(expected[topic] ?? [])].sort(),
        `${topic} publishers`,
      );
      const granted = statements
        .filter(
          ([, s]) =>
            [s.Action].flat().includes('sns:Publish') &&
            [s.Resource].flat().some((r) => resourceName(r, new Map()) === topic),
        )
        .map(([id]) => id);
      assert.deepEqual([...new Set(granted)].sort(), [...exempt].sort(), `${topic}: IAM agrees`);
    }
  });

  test('every table has point-in-time recovery and encryption; control, revisions and objects expire items by `ttl`', () => {
    const tables = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::DynamoDB::Table',
    );
    assert.ok(tables.length > 0);
    for (const [id, t] of tables) {
      assert.deepEqual(
        t.Properties.PointInTimeRecoverySpecification,
        { PointInTimeRecoveryEnabled: true },
        `${id} point-in-time recovery`,
      );
      assert.equal(t.Properties.SSESpecification?.SSEEnabled, true, `${id} encryption`);
    }
    for (const id of ['ControlTable', 'RevisionsTable', 'ObjectsTable']) {
      assert.deepEqual(
        template.Resources[id]?.Properties.TimeToLiveSpecification,
        { AttributeName: 'ttl', Enabled: true },
        `${id} time to live`,
      );
    }
  });

  test('staged parts expire with their upload records, after at most 7 days', () => {
    const rules = template.Resources.StagingBucket?.Properties.LifecycleConfiguration.Rules;
    const rule = rules.find((r: Statement) => r.Status === 'Enabled' && r.Prefix === undefined);
    assert.ok(rule, 'an enabled rule covers the whole bucket');
    assert.ok(rule.ExpirationInDays > 0 && rule.ExpirationInDays <= 7, 'parts expire');
    assert.ok(rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation <= 7, 'multipart aborts');
  });

  test('the HTTP API throttles its default route, and the api, committer and units run on reserved concurrency their queues respect', () => {
    const route = template.Resources.HttpApiStage?.Properties.DefaultRouteSettings;
    const rate = route?.ThrottlingRateLimit;
    const burst = route?.ThrottlingBurstLimit;
    assert.ok(Number(rate) > 0 && Number(burst) > 0, 'rate and burst limits');
    assert.equal(route.DetailedMetricsEnabled, false, "the framework's own setting is kept");
    const reserved = (fn: string) =>
      Number(template.Resources[`${fn}LambdaFunction`]?.Properties.ReservedConcurrentExecutions);
    const units = Array.from({ length: dsn.unitCount }, (_, i) => `Unit${i}`);
    for (const fn of ['Api', 'Committer', ...units]) {
      assert.ok(Number.isInteger(reserved(fn)) && reserved(fn) >= 2, `${fn} reserved concurrency`);
    }
    assert.ok(reserved('Api') >= Number(burst), 'a burst meets the 429, not a throttled function');
    const total = ['Api', 'Committer', ...units].reduce((n, fn) => n + reserved(fn), 0);
    assert.ok(total <= 900, `${total} reserved leaves Lambda's 100 of a default account's 1000`);
    const mappings = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping',
    );
    for (const fn of ['Committer', ...units]) {
      const mapping = mappings.find(
        (m) => m.Properties.FunctionName?.['Fn::GetAtt']?.[0] === `${fn}LambdaFunction`,
      );
      assert.equal(
        Number(mapping?.Properties.ScalingConfig?.MaximumConcurrency),
        reserved(fn),
        `${fn}'s queue is polled by no more than its reserved executions`,
      );
    }
    // Any function with a reserve and a queue: the reserve covers the queue's pollers, or a
    // throttled batch counts as a receive and goes to the dead-letter queue unrun.
    for (const m of mappings) {
      const fn = m.Properties.FunctionName?.['Fn::GetAtt']?.[0] as string;
      const reserve = template.Resources[fn]?.Properties.ReservedConcurrentExecutions;
      const pollers = m.Properties.ScalingConfig?.MaximumConcurrency;
      if (reserve === undefined) continue;
      assert.ok(
        pollers !== undefined && Number(pollers) <= Number(reserve),
        `${fn}: ${pollers} pollers, ${reserve} reserved`,
      );
    }
  });

  test('a stage sets the throttle and the reserved concurrency through its parameters', async () => {
    const params = {
      apiThrottleRateLimit: '7',
      apiThrottleBurstLimit: '11',
      apiReservedConcurrency: '13',
      committerReservedConcurrency: '3',
      unitReservedConcurrency: '4',
    };
    const { stdout } = await run(
      process.execPath,
      [
        SERVERLESS,
        'print',
        '--format',
        'json',
        '--stage',
        'ci',
        ...Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]),
      ],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const printed = JSON.parse(stdout);
    const route = printed.resources.extensions.HttpApiStage.Properties.DefaultRouteSettings;
    const committer = printed.functions.committer;
    const unit = printed.functions.unit0;
    // --param values are strings; the framework's schema turns some into numbers.
    const resolved = {
      apiThrottleRateLimit: route.ThrottlingRateLimit,
      apiThrottleBurstLimit: route.ThrottlingBurstLimit,
      apiReservedConcurrency: printed.functions.api.reservedConcurrency,
      committerReservedConcurrency: committer.reservedConcurrency,
      unitReservedConcurrency: unit.reservedConcurrency,
    };
    assert.deepEqual(
      Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, String(v)])),
      params,
    );
    assert.equal(String(committer.events[0].sqs.maximumConcurrency), '3');
    assert.equal(String(unit.events[0].sqs.maximumConcurrency), '4');
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
  test('the listeners have one FIFO queue, FIFO dead-letter queue, function and role per delivery node', () => {
    const resources = template.Resources;
    for (let i = 0; i < LISTENER_NODES; i++) {
      assert.equal(resources[`ListenerNode${i}Queue`]?.Properties.FifoQueue, true, `node ${i}`);
      assert.equal(resources[`ListenerNode${i}DeadLetterQueue`]?.Properties.FifoQueue, true);
      assert.equal(resources[`ListenerNode${i}Role`]?.Type, 'AWS::IAM::Role');
      const fn = resources[`ListenerNode${i}LambdaFunction`];
      assert.equal(fn?.Properties.Environment.Variables.DSN_LISTENER_NODE, String(i));
    }
    assert.equal(resources[`ListenerNode${LISTENER_NODES}Queue`], undefined);
    const env = resources.CommitterLambdaFunction?.Properties.Environment.Variables;
    assert.equal(env.DSN_LISTENER_NODE_QUEUE_URLS['Fn::Join'][1].length, LISTENER_NODES);
  });
});

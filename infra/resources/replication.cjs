// The replication system (seeds 003, 004), generated from one definition like the storage units
// (serverless.yml reads it through `${file(infra/resources/replication.cjs):...}`): the log
// table, the status queue and the function that applies it to the log, the controller's
// function (the state machine's steps; the state machine itself is in serverless.yml), and the
// worker pool. Worker i is: its own queue (so a task can name its worker), its dead-letter
// queue, its function and its role. `custom.dsn.replicationWorkers` says how many (default 4).
'use strict';

const listeners = require('./listeners.cjs');
const { lambdaTrust, logStatement, roleName, serviceAndStage } = require('./units.cjs');

const CONTROLLER_TIMEOUT_SECONDS = 300;
const LOG_TIMEOUT_SECONDS = 30;

class ReplicationConfigError extends Error {
  constructor(field, rule) {
    super(`custom.dsn.${field}: ${rule}`);
    this.name = 'ReplicationConfigError';
  }
}

/**
 * Checks `custom.dsn.replicationWorkers` (default 4), `replicationPartBytes` (default 8 MiB),
 * `replicationDeadlineMarginSeconds` (default 60) and `replicationCrashAt` (tests only).
 */
function readConfig(dsn) {
  const workerCount = Number(dsn?.replicationWorkers ?? 4);
  if (!Number.isInteger(workerCount) || workerCount < 1 || workerCount > 64) {
    throw new ReplicationConfigError(
      'replicationWorkers',
      `must be an integer from 1 to 64, got ${JSON.stringify(dsn?.replicationWorkers)}`,
    );
  }
  const partBytes = Number(dsn?.replicationPartBytes ?? 8 * 1024 * 1024);
  if (!Number.isInteger(partBytes) || partBytes < 1024) {
    throw new ReplicationConfigError(
      'replicationPartBytes',
      `must be an integer of at least 1024, got ${JSON.stringify(dsn?.replicationPartBytes)}`,
    );
  }
  const marginSeconds = Number(dsn?.replicationDeadlineMarginSeconds ?? 60);
  if (!(marginSeconds > 0)) {
    throw new ReplicationConfigError(
      'replicationDeadlineMarginSeconds',
      `must be a positive number, got ${JSON.stringify(dsn?.replicationDeadlineMarginSeconds)}`,
    );
  }
  const workerTimeout = Number(dsn?.replicationWorkerTimeout ?? 900);
  if (!Number.isInteger(workerTimeout) || workerTimeout < 10 || workerTimeout > 900) {
    throw new ReplicationConfigError(
      'replicationWorkerTimeout',
      `must be an integer from 10 to 900, got ${JSON.stringify(dsn?.replicationWorkerTimeout)}`,
    );
  }
  return {
    workerCount,
    // A worker's deletes in a vault announce events to the listeners' delivery nodes.
    listenerNodes: listeners.readConfig(dsn).nodeCount,
    partBytes,
    marginSeconds,
    workerTimeout,
    crashAt: String(dsn?.replicationCrashAt ?? ''),
  };
}

const workers = ({ workerCount }) => Array.from({ length: workerCount }, (_, i) => i);

const arnOf = (id) => ({ 'Fn::GetAtt': [id, 'Arn'] });

function queue(timeoutSeconds, deadLetterId) {
  return {
    Type: 'AWS::SQS::Queue',
    Properties: {
      // Six times the consumer's timeout, as Lambda recommends for SQS sources.
      VisibilityTimeout: Math.min(6 * timeoutSeconds, 43200),
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: arnOf(deadLetterId), maxReceiveCount: 5 },
    },
  };
}

const deadLetterQueue = () => ({
  Type: 'AWS::SQS::Queue',
  Properties: { MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true },
});

function role(service, stage, fn, statements) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      RoleName: roleName(service, stage, fn),
      AssumeRolePolicyDocument: lambdaTrust(),
      Policies: [
        {
          PolicyName: fn,
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [logStatement(`${service}-${stage}-${fn}`), ...statements],
          },
        },
      ],
    },
  };
}

const consume = (queueId) => ({
  Effect: 'Allow',
  Action: [
    'sqs:ReceiveMessage',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'sqs:ChangeMessageVisibility',
  ],
  Resource: arnOf(queueId),
});

/** Listener events a delete in a vault announces (participants, one message per node). */
function announces(config) {
  return [
    {
      Effect: 'Allow',
      Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: arnOf('ParticipantsTable'),
    },
    {
      Effect: 'Allow',
      Action: ['sqs:SendMessage'],
      Resource: Array.from({ length: config.listenerNodes }, (_, n) =>
        arnOf(`ListenerNode${n}Queue`),
      ),
    },
  ];
}

// Outside buckets are whatever a job names: a bucket of this account is reached with these
// grants (narrow them to your buckets if you know them); another provider's with its own keys.
const ANY_BUCKET = { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::*' };
const ANY_OBJECT = { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::*/*' };

// The secrets a bucket side may name for its credentials (shared/replication/side.ts
// SECRET_PREFIX); a secret under a customer managed KMS key also needs kms:Decrypt on that key.
const REPLICATION_SECRETS = {
  'Fn::Sub':
    'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:dsn/replication/*',
};

/** What listing and reading either end takes: vault listings and plain buckets. */
function listStatements() {
  return [
    { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: ANY_BUCKET },
    { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: REPLICATION_SECRETS },
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem'],
      Resource: arnOf('VaultsTable'),
    },
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:Query'],
      Resource: arnOf('ObjectsTable'),
    },
  ];
}

/** A worker's copy: reads and writes at either end, through the store for vaults. */
function copyStatements(config) {
  return [
    ...listStatements(),
    {
      Effect: 'Allow',
      Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'],
      Resource: ANY_OBJECT,
    },
    // The writer opens and finishes revisions; a delete puts the tombstone.
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: arnOf('RevisionsTable'),
    },
    {
      Effect: 'Allow',
      Action: ['dynamodb:PutItem'],
      Resource: arnOf('ObjectsTable'),
    },
    // Staged uploads of multi-part copies into a vault, not the units' counters.
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: arnOf('ControlTable'),
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['upload/*'] } },
    },
    // The writer's scan as it encodes reads the uploaded rules (write-scan.ts).
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem'],
      Resource: arnOf('ControlTable'),
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['scan-rules'] } },
    },
    {
      Effect: 'Allow',
      Action: ['sns:Publish'],
      Resource: [{ Ref: 'NetworkTopic' }, { Ref: 'StatusTopic' }, { Ref: 'EventsTopic' }],
    },
    {
      Effect: 'Allow',
      Action: ['sqs:SendMessage'],
      Resource: [arnOf('RepairQueue'), arnOf('DispersalQueue')],
    },
    ...announces(config),
  ];
}

function replicationResources(config, service, stage) {
  const resources = {
    ReplicationTable: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'openJob', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        // Sparse: only a task not done carries `openJob` (its job's id), so the controller's
        // looks at a job, and the API's, read what is left rather than the whole job.
        GlobalSecondaryIndexes: [
          {
            IndexName: 'open',
            KeySchema: [
              { AttributeName: 'openJob', KeyType: 'HASH' },
              { AttributeName: 'sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    },
    ReplicationStatusDeadLetterQueue: deadLetterQueue(),
    ReplicationStatusQueue: queue(LOG_TIMEOUT_SECONDS, 'ReplicationStatusDeadLetterQueue'),
    // The controller's state machine runs the controller's function, and nothing else.
    ReplicationStateMachineRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: roleName(service, stage, 'replicationStateMachine'),
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'states.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'replicationStateMachine',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['lambda:InvokeFunction'],
                  Resource: arnOf('ReplicationControllerLambdaFunction'),
                },
              ],
            },
          },
        ],
      },
    },
    ReplicationLogRole: role(service, stage, 'replicationLog', [
      consume('ReplicationStatusQueue'),
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: arnOf('ReplicationTable'),
      },
      // A migrated copy's remainder, sent once its `stopped` is logged (shared/replication/migration.ts).
      {
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: workers(config).map((i) => arnOf(`ReplicationWorker${i}Queue`)),
      },
    ]),
    ReplicationControllerRole: role(service, stage, 'replicationController', [
      // The rebalancer role's lease (shared/topology/lease.ts).
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
        Resource: arnOf('AdminTable'),
      },
      // A fenced put refused: the key schema tells which item to look at (fence.ts).
      { Effect: 'Allow', Action: ['dynamodb:DescribeTable'], Resource: arnOf('ReplicationTable') },
      {
        Effect: 'Allow',
        // BatchWriteItem: a job's first plan writes its tasks in batches (planner.ts).
        Action: [
          'dynamodb:BatchWriteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
        Resource: arnOf('ReplicationTable'),
      },
      // A job's tasks not done yet, by the sparse index.
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: { 'Fn::Sub': '${ReplicationTable.Arn}/index/open' },
      },
      {
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: workers(config).map((i) => arnOf(`ReplicationWorker${i}Queue`)),
      },
      ...listStatements(),
    ]),
  };
  for (const i of workers(config)) {
    resources[`ReplicationWorker${i}DeadLetterQueue`] = deadLetterQueue();
    resources[`ReplicationWorker${i}Queue`] = queue(
      config.workerTimeout,
      `ReplicationWorker${i}DeadLetterQueue`,
    );
    resources[`ReplicationWorker${i}Role`] = role(service, stage, `replicationWorker${i}`, [
      consume(`ReplicationWorker${i}Queue`),
      {
        // Reads, and its claim on a task before it copies (the one log write a worker makes).
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: arnOf('ReplicationTable'),
      },
      {
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: arnOf('ReplicationStatusQueue'),
      },
      {
        // The records of a batch it did not begin, near its time limit, sent again as new
        // messages (worker-batch.ts): a hand-back would count a receive toward the dead letters.
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: arnOf(`ReplicationWorker${i}Queue`),
      },
      ...copyStatements(config),
    ]);
  }
  return resources;
}

/** What every replication function reads, besides the provider's environment. */
function environment(config) {
  return {
    DSN_REPLICATION_TABLE: { Ref: 'ReplicationTable' },
    DSN_REPLICATION_STATUS_QUEUE_URL: { Ref: 'ReplicationStatusQueue' },
    DSN_REPLICATION_WORKER_QUEUE_URLS: queueUrls(config),
    DSN_REPLICATION_PART_BYTES: String(config.partBytes),
    DSN_REPLICATION_DEADLINE_MARGIN_SECONDS: String(config.marginSeconds),
    // Tests only (shared/aws/replication/crash.ts); left out unless set.
    ...(config.crashAt ? { DSN_REPLICATION_CRASH_AT: config.crashAt } : {}),
  };
}

function queueUrls(config) {
  return { 'Fn::Join': [',', workers(config).map((i) => ({ Ref: `ReplicationWorker${i}Queue` }))] };
}

const sqsEvent = (queueId, batchSize) => ({
  sqs: {
    arn: arnOf(queueId),
    batchSize,
    functionResponseType: 'ReportBatchItemFailures',
  },
});

function replicationFunctions(config) {
  const env = environment(config);
  const functions = {
    replicationController: {
      handler: 'functions/replication-controller.handler',
      description: 'Replication controller: the plan, dispatch, wait and finalize steps (seed 003)',
      role: 'ReplicationControllerRole',
      timeout: CONTROLLER_TIMEOUT_SECONDS,
      environment: env,
    },
    replicationLog: {
      handler: 'functions/replication-log.handler',
      description: 'Applies replication workers statuses to the log, idempotently (seed 003)',
      role: 'ReplicationLogRole',
      timeout: LOG_TIMEOUT_SECONDS,
      environment: env,
      events: [sqsEvent('ReplicationStatusQueue', 10)],
    },
  };
  for (const i of workers(config)) {
    functions[`replicationWorker${i}`] = {
      handler: 'functions/replication-worker.handler',
      description: `Replication worker ${i}: copies and deletes the objects of the tasks sent to it`,
      role: `ReplicationWorker${i}Role`,
      timeout: config.workerTimeout,
      memorySize: 1024,
      environment: {
        ...env,
        DSN_REPLICATION_WORKER: String(i),
        DSN_LISTENER_NODE_QUEUE_URLS: {
          'Fn::Join': [
            ',',
            Array.from({ length: config.listenerNodes }, (_, n) => ({
              Ref: `ListenerNode${n}Queue`,
            })),
          ],
        },
      },
      // Up to ten task messages an invocation, run one after the other (worker-batch.ts).
      events: [sqsEvent(`ReplicationWorker${i}Queue`, 10)],
    };
  }
  return functions;
}

async function resolve({ resolveConfigurationProperty, options }) {
  const config = readConfig(await resolveConfigurationProperty(['custom', 'dsn']));
  const { service, stage } = await serviceAndStage({ resolveConfigurationProperty, options });
  return {
    resources: { Resources: replicationResources(config, service, stage) },
    functions: replicationFunctions(config),
    environment: environment(config),
    queueUrls: queueUrls(config),
    /** For the functions that add tasks of continuous rules (api, committer). */
    queueArns: workers(config).map((i) => arnOf(`ReplicationWorker${i}Queue`)),
  };
}

module.exports = resolve;
module.exports.readConfig = readConfig;
module.exports.replicationResources = replicationResources;
module.exports.replicationFunctions = replicationFunctions;
module.exports.ReplicationConfigError = ReplicationConfigError;
module.exports.workerFunctions = (dsn) =>
  Array.from({ length: readConfig(dsn).workerCount }, (_, i) => `replicationWorker${i}`);

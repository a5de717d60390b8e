// The pool of storage units, generated from one definition (serverless.yml reads it through
// `${file(infra/resources/units.cjs):...}`), as unit-config.cjs reads and checks it. Plain CommonJS because the Serverless Framework
// `require`s variable files. Unit i is: a bucket (or an existing bucket named in
// `custom.dsn.units[i]`), a queue subscribed to the network topic with a filter policy on the
// `dsn-to` attribute (its own unit address), its dead-letter queue, and the policies that let SNS deliver.
'use strict';

const { browserCors } = require('./browser-cors.cjs');
const {
  checkEnvironmentBudget,
  edgeUnits,
  LONGEST_REGION,
  readConfig,
} = require('./unit-config.cjs');

const UNIT_FUNCTION_TIMEOUT_SECONDS = 30;
// Stage parameters (serverless.yml `params`), resolved by the framework after this file.
const UNIT_RESERVED_CONCURRENCY = '${param:unitReservedConcurrency}';
/** Six times the unit function's timeout, as Lambda recommends for SQS sources (by default). */
const UNIT_QUEUE_VISIBILITY = '${param:unitQueueVisibilitySeconds}';

function bucketRef(i, override) {
  return override?.bucket ? override.bucket : { Ref: `Unit${i}Bucket` };
}

function bucketArn(i, override) {
  return override?.bucket
    ? { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${override.bucket}` }
    : { 'Fn::GetAtt': [`Unit${i}Bucket`, 'Arn'] };
}

const IAM_ROLE_NAME_LIMIT = 64;

/**
 * The name of the role of function `fn`: `<service>-<stage>-<region>-<fn>`, as the framework
 * names its own default role. A fixed name lets a resource policy name the role by ARN with no
 * reference to the role resource (infra/resources/topics.cjs), which the local cloud, having no
 * IAM, could not resolve. IAM names are account-wide, hence the region.
 */
function roleName(service, stage, fn) {
  const longest = `${service}-${stage}-${LONGEST_REGION}-${fn}`;
  if (longest.length > IAM_ROLE_NAME_LIMIT) {
    throw new Error(
      `stage "${stage}" is too long: role names such as ${longest} would pass IAM's ` +
        `${IAM_ROLE_NAME_LIMIT} characters`,
    );
  }
  return { 'Fn::Sub': `${service}-${stage}-\${AWS::Region}-${fn}` };
}

/** The ARN of the role roleName names. */
function roleArn(service, stage, fn) {
  const name = roleName(service, stage, fn)['Fn::Sub'];
  return { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${name}` };
}

/** Every CloudFormation resource of the pool. */
function unitResources({ unitCount, units, browserOrigins = ['*'] }) {
  const resources = {};
  for (let i = 0; i < unitCount; i++) {
    const override = units[i] ?? undefined;
    if (!override?.bucket) {
      resources[`Unit${i}Bucket`] = {
        Type: 'AWS::S3::Bucket',
        Properties: {
          BucketName: { 'Fn::Sub': `\${AWS::StackName}-unit-${i}-\${AWS::AccountId}` },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          ...browserCors(browserOrigins),
          // Slices are immutable (their keys carry the revision), so versioning would only
          // keep deleted garbage; unfinished staged uploads are not left to accumulate.
          LifecycleConfiguration: {
            Rules: [
              {
                Id: 'abort-incomplete-uploads',
                Status: 'Enabled',
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
              },
            ],
          },
        },
      };
    }
    // A bucket an operator names gets the TLS-only policy too: it is the one guarantee of the
    // pool that IAM cannot give. The stack then owns that bucket's policy (infra/DEPLOY.md).
    resources[`Unit${i}BucketPolicy`] = {
      Type: 'AWS::S3::BucketPolicy',
      Properties: {
        Bucket: bucketRef(i, override),
        PolicyDocument: tlsOnly(bucketArn(i, override)),
      },
    };
    resources[`Unit${i}DeadLetterQueue`] = {
      Type: 'AWS::SQS::Queue',
      Properties: { MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true },
    };
    resources[`Unit${i}Queue`] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        VisibilityTimeout: UNIT_QUEUE_VISIBILITY,
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [`Unit${i}DeadLetterQueue`, 'Arn'] },
          maxReceiveCount: 5,
        },
      },
    };
    resources[`Unit${i}Subscription`] = {
      Type: 'AWS::SNS::Subscription',
      Properties: {
        TopicArn: { Ref: 'NetworkTopic' },
        Protocol: 'sqs',
        Endpoint: { 'Fn::GetAtt': [`Unit${i}Queue`, 'Arn'] },
        RawMessageDelivery: true,
        // The unit's own address, and nothing else: each message names the units it is for in
        // its `dsn-to` String.Array attribute (shared/store/multicast.ts), so vaults come and
        // go without touching a subscription (a policy holds at most 150 values).
        FilterPolicy: { 'dsn-to': [`unit/${i}`] },
      },
    };
    resources[`Unit${i}QueuePolicy`] = snsToQueue([`Unit${i}Queue`], 'NetworkTopic');
  }
  return resources;
}

/** A bucket policy refusing any request not made over TLS. */
function tlsOnly(arn) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [arn, { 'Fn::Join': ['', [arn, '/*']] }],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  };
}

/** Lets one topic, and only it, send to the queues. */
function snsToQueue(queueIds, topicId) {
  return {
    Type: 'AWS::SQS::QueuePolicy',
    Properties: {
      Queues: queueIds.map((id) => ({ Ref: id })),
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: queueIds.map((id) => ({
          Effect: 'Allow',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': [id, 'Arn'] },
          Condition: { ArnEquals: { 'aws:SourceArn': { Ref: topicId } } },
        })),
      },
    },
  };
}

/**
 * One storage-unit function per unit, each on its own queue, with its own role. Each reserves
 * `reservedConcurrency` executions, which also caps it, and its queue's poller invokes no more
 * at once: a poller above the cap would have batches throttled, and every throttled receive
 * counts toward the queue's maxReceiveCount, sending slices to the dead-letter queue unstored.
 */
function unitFunctions({ unitCount }, reservedConcurrency = UNIT_RESERVED_CONCURRENCY) {
  const functions = {};
  for (let i = 0; i < unitCount; i++) {
    functions[`unit${i}`] = {
      handler: 'functions/unit.handler',
      description: `Storage unit ${i}: stores and verifies the slices of its pillar`,
      role: `Unit${i}Role`,
      timeout: UNIT_FUNCTION_TIMEOUT_SECONDS,
      reservedConcurrency,
      environment: { DSN_UNIT_INDEX: String(i) },
      events: [
        {
          sqs: {
            arn: { 'Fn::GetAtt': [`Unit${i}Queue`, 'Arn'] },
            batchSize: 10,
            functionResponseType: 'ReportBatchItemFailures',
            maximumConcurrency: reservedConcurrency,
          },
        },
      ],
    };
  }
  return functions;
}

/** A unit function may touch its own bucket, read vaults, count in the control table, and report status. */
function unitRoles({ unitCount, units }, service, stage) {
  const roles = {};
  for (let i = 0; i < unitCount; i++) {
    const arn = bucketArn(i, units[i]);
    roles[`Unit${i}Role`] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: roleName(service, stage, `unit${i}`),
        AssumeRolePolicyDocument: lambdaTrust(),
        Policies: [
          {
            PolicyName: `unit-${i}`,
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                logStatement(`${service}-${stage}-unit${i}`),
                {
                  Effect: 'Allow',
                  Action: ['s3:GetObject', 's3:PutObject'],
                  Resource: { 'Fn::Join': ['', [arn, '/*']] },
                },
                { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: arn },
                {
                  Effect: 'Allow',
                  Action: [
                    'sqs:ReceiveMessage',
                    'sqs:DeleteMessage',
                    'sqs:GetQueueAttributes',
                    'sqs:ChangeMessageVisibility',
                  ],
                  Resource: { 'Fn::GetAtt': [`Unit${i}Queue`, 'Arn'] },
                },
                { Effect: 'Allow', Action: ['sns:Publish'], Resource: { Ref: 'StatusTopic' } },
                // The vote that applies a topology starts its job.
                {
                  Effect: 'Allow',
                  Action: ['sqs:SendMessage'],
                  Resource: { 'Fn::GetAtt': ['TopologyQueue', 'Arn'] },
                },
                // Scan for its subscriptions; GetItem for the vault's current topology (writes
                // under a superseded one are refused); UpdateItem for the vote that applies one.
                {
                  Effect: 'Allow',
                  Action: ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
                  Resource: { 'Fn::GetAtt': ['VaultsTable', 'Arn'] },
                },
                // Its own counters only (`counter/unit/<i>/...`), not other units' nor the
                // upload and rebuild records that share the table; and topologies, proposals,
                // votes and the job a vote that applies a topology starts (shared/topology/).
                {
                  Effect: 'Allow',
                  Action: [
                    'dynamodb:DeleteItem',
                    'dynamodb:GetItem',
                    'dynamodb:PutItem',
                    'dynamodb:UpdateItem',
                  ],
                  Resource: { 'Fn::GetAtt': ['ControlTable', 'Arn'] },
                  Condition: {
                    'ForAllValues:StringLike': {
                      'dynamodb:LeadingKeys': [
                        `counter/unit/${i}/*`,
                        'topology/*',
                        'topology-open/*',
                        'topologies/*',
                        'topology-job/*',
                      ],
                    },
                  },
                },
                // Freeze marks: a unit refuses slices of a vault frozen on it (vault.freeze).
                {
                  Effect: 'Allow',
                  Action: ['dynamodb:GetItem'],
                  Resource: { 'Fn::GetAtt': ['AdminTable', 'Arn'] },
                  Condition: {
                    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['freeze/*'] },
                  },
                },
              ],
            },
          },
        ],
      },
    };
  }
  return roles;
}

function lambdaTrust() {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  };
}

function logStatement(functionName) {
  return {
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: {
      'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${functionName}:*`,
    },
  };
}

/** Values the functions get as environment variables. */
function unitEnvironment({ unitCount, units }) {
  const list = (f) => ({
    'Fn::Join': [',', Array.from({ length: unitCount }, (_, i) => f(i, units[i]))],
  });
  return {
    DSN_UNIT_COUNT: String(unitCount),
    DSN_UNIT_BUCKETS: list((i, o) => bucketRef(i, o)),
    // S3 answers a request sent to the wrong region with a redirect, so a unit bucket placed
    // in another region needs a client for that region.
    DSN_UNIT_REGIONS: list((_, o) => o?.region ?? { Ref: 'AWS::Region' }),
    // `none` rather than empty: Lambda keeps empty variables, but a missing one must stay an error.
    DSN_EDGE_UNITS: edgeUnits({ unitCount, units }).join(',') || 'none',
  };
}

/**
 * IAM resources naming every unit bucket, for bucket actions (s3:ListBucket). Object actions go
 * on unitObjectArns: a statement naming both would grant each kind where it means nothing.
 */
function unitBucketArns({ unitCount, units }) {
  return Array.from({ length: unitCount }, (_, i) => bucketArn(i, units[i]));
}

/** IAM resources naming every object in every unit bucket, for object actions (s3:GetObject...). */
function unitObjectArns(config) {
  return unitBucketArns(config).map((arn) => ({ 'Fn::Join': ['', [arn, '/*']] }));
}

/**
 * The service and the stage a variable file resolves for (`--stage`, else provider.stage, else
 * the framework's `dev`): one reading, so that every file names the same roles (roleName).
 */
async function serviceAndStage({ resolveConfigurationProperty, options }) {
  const service = await resolveConfigurationProperty(['service']);
  const stage =
    options.stage ?? (await resolveConfigurationProperty(['provider', 'stage'])) ?? 'dev';
  return { service, stage };
}

async function resolve(variables) {
  const config = readConfig(await variables.resolveConfigurationProperty(['custom', 'dsn']));
  const { service, stage } = await serviceAndStage(variables);
  checkEnvironmentBudget(config, `${service}-${stage}`);
  return {
    resources: { Resources: { ...unitResources(config), ...unitRoles(config, service, stage) } },
    functions: unitFunctions(config),
    environment: unitEnvironment(config),
    bucketArns: unitBucketArns(config),
    objectArns: unitObjectArns(config),
  };
}

module.exports = resolve;
module.exports.unitResources = unitResources;
module.exports.browserCors = browserCors;
module.exports.unitFunctions = unitFunctions;
module.exports.unitRoles = unitRoles;
module.exports.unitEnvironment = unitEnvironment;
module.exports.unitBucketArns = unitBucketArns;
module.exports.unitObjectArns = unitObjectArns;
module.exports.tlsOnly = tlsOnly;
module.exports.roleName = roleName;
module.exports.roleArn = roleArn;
module.exports.serviceAndStage = serviceAndStage;
module.exports.lambdaTrust = lambdaTrust;
module.exports.logStatement = logStatement;
module.exports.snsToQueue = snsToQueue;

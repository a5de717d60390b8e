/**
 * Creates, in the local emulators, every resource the resolved service declares, through the
 * same AWS SDK calls real code makes. It behaves like a CloudFormation stack update: a resource
 * is created when missing and updated only when its declaration changed since the last start,
 * so state changed at run time (a vault's filter policy, say) survives a restart.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateTopicCommand,
  ListSubscriptionsByTopicCommand,
  SetSubscriptionAttributesCommand,
  SetTopicAttributesCommand,
  type SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type IntrinsicContext, type ResolvedResource, resolveIntrinsics } from './intrinsics.ts';
import { awaitTablesActive, ensureTable } from './provision-tables.ts';
import { applyBucketCors } from './s3-cors.ts';
import type { ResolvedService } from './service.ts';

export const LOCAL_ACCOUNT_ID = '000000000000';

export interface ProvisionClients {
  s3: S3Client;
  sns: SNSClient;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
}

/** What the local cloud knows about each provisioned resource after start-up. */
export interface ProvisionedStack {
  /** Logical id (and function key) to its Ref and attributes. */
  resources: Map<string, ResolvedResource & { type: string }>;
  /** Queue ARN to queue URL, for event-source wiring. */
  queueUrlByArn: Map<string, string>;
  /** Resource types declared but not emulated (IAM, policies, log groups), by logical id. */
  notEmulated: Map<string, string>;
  context: IntrinsicContext;
}

/** Types that only matter for permissions or observability on AWS; there is no IAM locally. */
const NOT_EMULATED = new Set([
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::S3::BucketPolicy',
  'AWS::Lambda::Permission',
  'AWS::Logs::LogGroup',
  'AWS::CloudWatch::Alarm',
  'AWS::KMS::Key',
  'AWS::SecretsManager::Secret',
]);

const QUEUE_ATTRIBUTES = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'FifoQueue',
  'ContentBasedDeduplication',
];

const SUBSCRIPTION_ATTRIBUTES = [
  'RawMessageDelivery',
  'FilterPolicy',
  'FilterPolicyScope',
  'RedrivePolicy',
];

/** CloudFormation's naming of a function's resource: `my-fn` becomes `MyDashfnLambdaFunction`. */
export function functionLogicalId(key: string): string {
  const normalized = key.charAt(0).toUpperCase() + key.slice(1);
  return `${normalized.replace(/-/g, 'Dash').replace(/_/g, 'Underscore')}LambdaFunction`;
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

function defaultName(service: ResolvedService, logicalId: string, max: number): string {
  return `${service.service}-${service.stage}-${logicalId}`.slice(0, max);
}

function physicalName(
  service: ResolvedService,
  logicalId: string,
  type: string,
  props: Record<string, unknown>,
): string {
  switch (type) {
    case 'AWS::S3::Bucket':
      return String(props.BucketName ?? defaultName(service, logicalId, 63).toLowerCase());
    case 'AWS::SNS::Topic':
      return String(props.TopicName ?? defaultName(service, logicalId, 256));
    case 'AWS::SQS::Queue': {
      const fifo = String(props.FifoQueue) === 'true';
      return String(
        props.QueueName ??
          `${defaultName(service, logicalId, fifo ? 75 : 80)}${fifo ? '.fifo' : ''}`,
      );
    }
    case 'AWS::DynamoDB::Table':
      return String(props.TableName ?? defaultName(service, logicalId, 255));
    default:
      return logicalId;
  }
}

/** Names and ARNs are deterministic locally, so every Ref resolves before anything exists. */
function predict(
  service: ResolvedService,
  logicalId: string,
  type: string,
  props: Record<string, unknown>,
  sqsHost: string,
): ResolvedResource | undefined {
  const { region } = service;
  const name = physicalName(service, logicalId, type, props);
  switch (type) {
    case 'AWS::S3::Bucket':
      return {
        ref: name,
        attributes: {
          Arn: `arn:aws:s3:::${name}`,
          DomainName: `${name}.s3.amazonaws.com`,
          RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
        },
      };
    case 'AWS::SNS::Topic': {
      const arn = `arn:aws:sns:${region}:${LOCAL_ACCOUNT_ID}:${name}`;
      return { ref: arn, attributes: { TopicArn: arn, TopicName: name } };
    }
    case 'AWS::SQS::Queue': {
      const url = `http://${sqsHost}/${LOCAL_ACCOUNT_ID}/${name}`;
      const arn = `arn:aws:sqs:${region}:${LOCAL_ACCOUNT_ID}:${name}`;
      return { ref: url, attributes: { Arn: arn, QueueName: name, QueueUrl: url } };
    }
    case 'AWS::DynamoDB::Table':
      return {
        ref: name,
        attributes: {
          Arn: `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT_ID}:table/${name}`,
          StreamArn: `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT_ID}:table/${name}/stream/local`,
        },
      };
    // Not emulated (the local cloud keeps the root key in credentials.json and seals secrets
    // without KMS: shared/aws/access/wire.ts), but named, so environments that name them resolve.
    case 'AWS::KMS::Key': {
      const arn = `arn:aws:kms:${region}:${LOCAL_ACCOUNT_ID}:key/${logicalId}`;
      return { ref: arn, attributes: { Arn: arn, KeyId: logicalId } };
    }
    case 'AWS::SecretsManager::Secret': {
      const arn = `arn:aws:secretsmanager:${region}:${LOCAL_ACCOUNT_ID}:secret:${logicalId}`;
      return { ref: arn, attributes: { Id: arn } };
    }
    default:
      return undefined;
  }
}

async function loadRecord(file: string): Promise<Record<string, string>> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return {};
  }
}

async function ensureBucket(s3: S3Client, name: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: name }));
    return false;
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    return true;
  }
}

async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
  changed: boolean,
): Promise<string> {
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (QueueUrl && changed && Object.keys(attributes).length > 0) {
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
    }
    if (QueueUrl) return QueueUrl;
  } catch (err) {
    if (
      (err as Error).name !== 'QueueDoesNotExist' &&
      (err as Error).name !== 'AWS.SimpleQueueService.NonExistentQueue'
    ) {
      throw err;
    }
  }
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
  return QueueUrl;
}

async function ensureSubscription(
  sns: SNSClient,
  props: Record<string, unknown>,
  changed: boolean,
): Promise<string> {
  const topicArn = String(props.TopicArn);
  const endpoint = String(props.Endpoint);
  const protocol = String(props.Protocol);
  const attributes: Record<string, string> = {};
  for (const key of SUBSCRIPTION_ATTRIBUTES) {
    if (props[key] !== undefined) attributes[key] = stringify(props[key]);
  }
  let token: string | undefined;
  do {
    const page = await sns.send(
      new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: token }),
    );
    const found = page.Subscriptions?.find(
      (s) => s.Endpoint === endpoint && s.Protocol === protocol,
    );
    if (found?.SubscriptionArn) {
      if (changed) {
        for (const [AttributeName, AttributeValue] of Object.entries(attributes)) {
          await sns.send(
            new SetSubscriptionAttributesCommand({
              SubscriptionArn: found.SubscriptionArn,
              AttributeName,
              AttributeValue,
            }),
          );
        }
      }
      return found.SubscriptionArn;
    }
    token = page.NextToken;
  } while (token);
  const { SubscriptionArn } = await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: protocol,
      Endpoint: endpoint,
      Attributes: attributes,
      ReturnSubscriptionArn: true,
    }),
  );
  if (!SubscriptionArn) throw new Error(`Subscribe ${endpoint} to ${topicArn} returned no ARN`);
  return SubscriptionArn;
}

/**
 * Provisions every resource of `service` into the emulators behind `clients`.
 * @param opts.sqsHost host:port that the emulator puts in queue URLs.
 */
export async function provision(opts: {
  service: ResolvedService;
  clients: ProvisionClients;
  sqsHost: string;
  dataDir: string;
  warn: (msg: string) => void;
}): Promise<ProvisionedStack> {
  const { service, clients, sqsHost, dataDir, warn } = opts;
  const { region } = service;
  const resources = new Map<string, ResolvedResource & { type: string }>();
  const notEmulated = new Map<string, string>();
  const context: IntrinsicContext = {
    region,
    accountId: LOCAL_ACCOUNT_ID,
    stackName: `${service.service}-${service.stage}`,
    lookup: (id) => resources.get(id),
  };

  /** Tables this run created, waited on together until ACTIVE. */
  const created: string[] = [];

  // Physical names may use pseudo parameters (`!Sub ${AWS::StackName}-...`); they resolve now.
  const NAME_PROPS = ['BucketName', 'TopicName', 'QueueName', 'TableName'];
  for (const [id, r] of Object.entries(service.resources)) {
    const props = { ...(r.Properties ?? {}) };
    for (const key of NAME_PROPS) {
      if (props[key] !== undefined) {
        props[key] = resolveIntrinsics(
          props[key],
          context,
          `resources.Resources.${id}.Properties.${key}`,
        );
      }
    }
    const predicted = predict(service, id, r.Type, props, sqsHost);
    if (predicted) resources.set(id, { ...predicted, type: r.Type });
  }
  for (const fn of service.functions) {
    const arn = `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${fn.name}`;
    const entry = { ref: fn.name, attributes: { Arn: arn }, type: 'AWS::Lambda::Function' };
    resources.set(functionLogicalId(fn.key), entry);
    // serverless-step-functions lets definitions say `!GetAtt <functionKey>.Arn`.
    if (!resources.has(fn.key)) resources.set(fn.key, entry);
  }
  for (const [key, sm] of Object.entries(service.stateMachines)) {
    const name = sm.name ?? `${service.service}-${service.stage}-${key}`;
    const arn = `arn:aws:states:${region}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`;
    const entry = {
      ref: arn,
      attributes: { Name: name, Arn: arn },
      type: 'AWS::StepFunctions::StateMachine',
    };
    resources.set(key, entry);
    const normalized = key.charAt(0).toUpperCase() + key.slice(1);
    resources.set(`${normalized.replace(/[^A-Za-z0-9]/g, '')}StepFunctionsStateMachine`, entry);
  }

  const recordFile = join(dataDir, 'provisioned.json');
  const previous = await loadRecord(recordFile);
  const next: Record<string, string> = {};
  const queueUrlByArn = new Map<string, string>();

  // Creation order matters only for what the emulators check on write: topics and queues
  // before the subscriptions that join them, dead-letter queues before the queues naming them.
  const order = [
    'AWS::S3::Bucket',
    'AWS::SNS::Topic',
    'AWS::DynamoDB::Table',
    'AWS::SQS::Queue',
    'AWS::SNS::Subscription',
  ];
  const declared = Object.entries(service.resources).map(([id, r]) => {
    const props = resolveIntrinsics(
      r.Properties ?? {},
      context,
      `resources.Resources.${id}.Properties`,
    ) as Record<string, unknown>;
    return { id, type: r.Type, props };
  });
  const rank = (d: { type: string; props: Record<string, unknown> }) => {
    const i = order.indexOf(d.type);
    const redrives = d.type === 'AWS::SQS::Queue' && d.props.RedrivePolicy !== undefined ? 0.5 : 0;
    return (i < 0 ? order.length : i) + redrives;
  };
  declared.sort((a, b) => rank(a) - rank(b));

  for (const { id, type, props } of declared) {
    const hash = digest({ type, props });
    next[id] = hash;
    const changed = previous[id] !== undefined && previous[id] !== hash;
    const name = physicalName(service, id, type, props);
    switch (type) {
      case 'AWS::S3::Bucket': {
        const created = await ensureBucket(clients.s3, name);
        if (created || previous[id] !== hash)
          await applyBucketCors(clients.s3, name, props.CorsConfiguration);
        break;
      }
      case 'AWS::SNS::Topic': {
        const { TopicArn } = await clients.sns.send(new CreateTopicCommand({ Name: name }));
        if (changed && props.DisplayName !== undefined) {
          await clients.sns.send(
            new SetTopicAttributesCommand({
              TopicArn,
              AttributeName: 'DisplayName',
              AttributeValue: String(props.DisplayName),
            }),
          );
        }
        break;
      }
      case 'AWS::SQS::Queue': {
        const attributes: Record<string, string> = {};
        for (const key of QUEUE_ATTRIBUTES) {
          if (props[key] !== undefined) attributes[key] = stringify(props[key]);
        }
        const url = await ensureQueue(clients.sqs, name, attributes, changed);
        const entry = resources.get(id);
        if (entry) {
          entry.ref = url;
          entry.attributes.QueueUrl = url;
          queueUrlByArn.set(String(entry.attributes.Arn), url);
        }
        break;
      }
      case 'AWS::SNS::Subscription': {
        if (props.Protocol !== 'sqs') {
          warn(
            `${id}: only sqs subscriptions are delivered locally (Protocol ${String(props.Protocol)})`,
          );
          break;
        }
        const arn = await ensureSubscription(clients.sns, props, changed);
        resources.set(id, { ref: arn, attributes: {}, type });
        break;
      }
      case 'AWS::DynamoDB::Table':
        if (await ensureTable(clients.dynamodb, name, props, changed, warn)) created.push(name);
        break;
      default:
        if (NOT_EMULATED.has(type)) {
          notEmulated.set(id, type);
        } else {
          warn(`${id}: resource type ${type} is not emulated by the local cloud`);
          notEmulated.set(id, type);
        }
    }
  }
  await awaitTablesActive(clients.dynamodb, created);
  const tmp = `${recordFile}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(next, null, 2));
  await rename(tmp, recordFile);
  return { resources, queueUrlByArn, notEmulated, context };
}

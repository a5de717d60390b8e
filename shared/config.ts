/**
 * The deployment's configuration, read and validated once at start-up from the environment
 * that serverless.yml gives every function. A missing or malformed variable is an error that
 * names it; there are no silent defaults for resource names.
 */

/** A required environment variable is missing or malformed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly variable: string;
  constructor(variable: string, rule: string) {
    super(`environment variable ${variable} ${rule}`);
    this.variable = variable;
  }
}

export interface DsnConfig {
  stage: string;
  vaultsTable: string;
  networkTopicArn: string;
  statusTopicArn: string;
  eventsTopicArn: string;
  /** Bucket of each storage unit of the pool, in unit order. */
  unitBuckets: string[];
  /** Region of each storage unit's bucket, in unit order (a unit may live in another region). */
  unitRegions: string[];
  /** Queue of each storage unit, subscribed to the network topic, in unit order. */
  unitQueueArns: string[];
  revisionsTable: string;
  objectsTable: string;
  controlTable: string;
  repairQueueUrl: string;
  stagingBucket: string;
  dispersalQueueUrl: string;
  /** A revision still pending after this long is failed and cleaned up. */
  pendingTimeoutMs: number;
  /** How long a PUT waits for its commit before answering 202. */
  commitWaitMs: number;
  /** Where rebuild jobs wait for their next invocation. */
  rebuildQueueUrl: string;
  /** Slice bytes a rebuild may read and write per second (0: no limit). */
  rebuildBytesPerSecond: number;
}

type Env = Record<string, string | undefined>;

function list(env: Env, name: string): string[] {
  const items = required(env, name)
    .split(',')
    .map((b) => b.trim());
  if (items.some((b) => b === '')) {
    throw new ConfigError(name, 'must be a comma-separated list with no empty entry');
  }
  return items;
}

function seconds(env: Env, name: string): number {
  const raw = required(env, name);
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(name, `must be a positive number of seconds, got "${raw}"`);
  return value;
}

function nonNegativeInteger(env: Env, name: string): number {
  const raw = required(env, name);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ConfigError(name, `must be an integer >= 0, got "${raw}"`);
  return value;
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigError(name, 'is required');
  return value.trim();
}

function arn(env: Env, name: string, service: string): string {
  const value = required(env, name);
  if (!value.startsWith(`arn:aws:${service}:`)) {
    throw new ConfigError(name, `must be an ${service} ARN, got "${value}"`);
  }
  return value;
}

/** Reads the configuration from `env` (default `process.env`). */
export function loadConfig(env: Env = process.env): DsnConfig {
  const unitBuckets = list(env, 'DSN_UNIT_BUCKETS');
  const unitQueueArns = list(env, 'DSN_UNIT_QUEUE_ARNS');
  const unitCount = Number(required(env, 'DSN_UNIT_COUNT'));
  if (!Number.isInteger(unitCount) || unitCount < 1) {
    throw new ConfigError(
      'DSN_UNIT_COUNT',
      `must be a positive integer, got "${env.DSN_UNIT_COUNT}"`,
    );
  }
  if (unitCount !== unitBuckets.length) {
    throw new ConfigError(
      'DSN_UNIT_BUCKETS',
      `lists ${unitBuckets.length} buckets but DSN_UNIT_COUNT is ${unitCount}`,
    );
  }
  if (unitQueueArns.length !== unitCount) {
    throw new ConfigError(
      'DSN_UNIT_QUEUE_ARNS',
      `lists ${unitQueueArns.length} queues but DSN_UNIT_COUNT is ${unitCount}`,
    );
  }
  const unitRegions = list(env, 'DSN_UNIT_REGIONS');
  if (unitRegions.length !== unitCount) {
    throw new ConfigError(
      'DSN_UNIT_REGIONS',
      `lists ${unitRegions.length} regions but DSN_UNIT_COUNT is ${unitCount}`,
    );
  }
  const badRegion = unitRegions.find((r) => !/^[a-z]{2}(-[a-z]+)+-\d$/.test(r));
  if (badRegion !== undefined) {
    throw new ConfigError('DSN_UNIT_REGIONS', `must list AWS region names, got "${badRegion}"`);
  }
  return {
    revisionsTable: required(env, 'DSN_REVISIONS_TABLE'),
    objectsTable: required(env, 'DSN_OBJECTS_TABLE'),
    controlTable: required(env, 'DSN_CONTROL_TABLE'),
    repairQueueUrl: required(env, 'DSN_REPAIR_QUEUE_URL'),
    stagingBucket: required(env, 'DSN_STAGING_BUCKET'),
    dispersalQueueUrl: required(env, 'DSN_DISPERSAL_QUEUE_URL'),
    pendingTimeoutMs: seconds(env, 'DSN_PENDING_TIMEOUT_SECONDS') * 1000,
    commitWaitMs: seconds(env, 'DSN_COMMIT_WAIT_SECONDS') * 1000,
    rebuildQueueUrl: required(env, 'DSN_REBUILD_QUEUE_URL'),
    rebuildBytesPerSecond: nonNegativeInteger(env, 'DSN_REBUILD_BYTES_PER_SECOND'),
    stage: required(env, 'DSN_STAGE'),
    vaultsTable: required(env, 'DSN_VAULTS_TABLE'),
    networkTopicArn: arn(env, 'DSN_NETWORK_TOPIC_ARN', 'sns'),
    statusTopicArn: arn(env, 'DSN_STATUS_TOPIC_ARN', 'sns'),
    eventsTopicArn: arn(env, 'DSN_EVENTS_TOPIC_ARN', 'sns'),
    unitBuckets,
    unitRegions,
    unitQueueArns,
  };
}

/** The unit a storage-unit function serves (`DSN_UNIT_INDEX`). */
export function unitIndex(env: Env = process.env): number {
  const raw = required(env, 'DSN_UNIT_INDEX');
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new ConfigError('DSN_UNIT_INDEX', `must be an integer 0..255, got "${raw}"`);
  }
  return value;
}

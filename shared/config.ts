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
  /** Queue of each storage unit, subscribed to the network topic, in unit order. */
  unitQueueArns: string[];
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
  return {
    stage: required(env, 'DSN_STAGE'),
    vaultsTable: required(env, 'DSN_VAULTS_TABLE'),
    networkTopicArn: arn(env, 'DSN_NETWORK_TOPIC_ARN', 'sns'),
    statusTopicArn: arn(env, 'DSN_STATUS_TOPIC_ARN', 'sns'),
    eventsTopicArn: arn(env, 'DSN_EVENTS_TOPIC_ARN', 'sns'),
    unitBuckets,
    unitQueueArns,
  };
}

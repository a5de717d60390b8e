/**
 * The deployment's configuration, read and validated once at start-up from the environment
 * that serverless.yml gives every function. Each variable is declared once below with its
 * rule; each system's wiring reads only its own section (`loadConfig(env, STORE_SECTION)`),
 * so a function starts without the variables of systems it does not run. A missing or
 * malformed variable is an error that names it; there are no silent defaults for resource
 * names.
 */
import { z } from 'zod';

/** A required environment variable is missing or malformed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly variable: string;
  constructor(variable: string, rule: string) {
    super(`environment variable ${variable} ${rule}`);
    this.variable = variable;
  }
}

type Env = Record<string, string | undefined>;

/** Trims, and refuses an empty value as missing. */
const text = z.string().trim().min(1, 'is required');

const arn = (service: string) =>
  text.refine((v) => v.startsWith(`arn:aws:${service}:`), {
    error: (issue) => `must be an ${service} ARN, got "${issue.input}"`,
  });

const list = text
  .transform((v) => v.split(',').map((item) => item.trim()))
  .refine((items) => items.every((item) => item !== ''), {
    error: 'must be a comma-separated list with no empty entry',
  });

// Checked before the transform, so the error quotes what was given (not NaN).
const seconds = text
  .refine((v) => Number.isFinite(Number(v)) && Number(v) > 0, {
    error: (issue) => `must be a positive number of seconds, got "${issue.input}"`,
  })
  .transform((v) => Number(v) * 1000);

const nonNegativeInteger = text.transform(Number).refine((v) => Number.isSafeInteger(v) && v >= 0, {
  error: (issue) => `must be an integer >= 0, got "${issue.input}"`,
});

/** Unit indices, comma-separated, or `none`. */
const unitIndices = text
  .transform((v) => (v === 'none' ? [] : v.split(',').map((item) => Number(item.trim()))))
  .refine((items) => items.every((i) => Number.isInteger(i) && i >= 0), {
    error: (issue) => `must be unit indices separated by commas, or none, got "${issue.input}"`,
  });

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Every variable: the configuration field, the environment name, and its rule. */
const VARIABLES = {
  stage: ['DSN_STAGE', text],
  vaultsTable: ['DSN_VAULTS_TABLE', text],
  networkTopicArn: ['DSN_NETWORK_TOPIC_ARN', arn('sns')],
  statusTopicArn: ['DSN_STATUS_TOPIC_ARN', arn('sns')],
  eventsTopicArn: ['DSN_EVENTS_TOPIC_ARN', arn('sns')],
  /** Bucket of each storage unit of the pool, in unit order. */
  unitBuckets: ['DSN_UNIT_BUCKETS', list],
  /** Region of each storage unit's bucket, in unit order (a unit may live in another region). */
  unitRegions: ['DSN_UNIT_REGIONS', list],
  /** Queue of each storage unit, subscribed to the network topic, in unit order. */
  /** The pool's edge units (`edge: true` in serverless.yml): never in a vault, staging places of shared/edge. */
  edgeUnits: ['DSN_EDGE_UNITS', unitIndices],
  /** Edge pre-positioning (shared/edge/): groups, access statistics, staged objects, planner runs. */
  edgeTable: ['DSN_EDGE_TABLE', text],
  /** Where `POST /admin/edge/plan` asks the planner for a run now. */
  edgePlanQueueUrl: ['DSN_EDGE_PLAN_QUEUE_URL', text],
  revisionsTable: ['DSN_REVISIONS_TABLE', text],
  objectsTable: ['DSN_OBJECTS_TABLE', text],
  controlTable: ['DSN_CONTROL_TABLE', text],
  repairQueueUrl: ['DSN_REPAIR_QUEUE_URL', text],
  stagingBucket: ['DSN_STAGING_BUCKET', text],
  dispersalQueueUrl: ['DSN_DISPERSAL_QUEUE_URL', text],
  /** A revision still pending after this long is failed and cleaned up. */
  pendingTimeoutMs: ['DSN_PENDING_TIMEOUT_SECONDS', seconds],
  /** How long a PUT waits for its commit before answering 202. */
  commitWaitMs: ['DSN_COMMIT_WAIT_SECONDS', seconds],
  /** Where rebuild jobs wait for their next invocation. */
  rebuildQueueUrl: ['DSN_REBUILD_QUEUE_URL', text],
  /** Where topology jobs (unit replacement, re-stripe) wait for their next invocation. */
  topologyQueueUrl: ['DSN_TOPOLOGY_QUEUE_URL', text],
  /** Memory of the functions that hold segments (api, disperser, rebuilder), in bytes. */
  dataMemoryBytes: [
    'DSN_DATA_MEMORY_MB',
    text
      .transform(Number)
      .refine((v) => Number.isInteger(v) && v >= 128 && v <= 10_240, {
        error: (issue) => `must be a Lambda memory size in MB (128..10240), got "${issue.input}"`,
      })
      .transform((v) => v * 1024 * 1024),
  ],
  /** Slice bytes a rebuild may read and write per second (0: no limit). */
  rebuildBytesPerSecond: ['DSN_REBUILD_BYTES_PER_SECOND', nonNegativeInteger],
  /** Work items (seed 001): function slices, locks and work lists. */
  workTable: ['DSN_WORK_TABLE', text],
  /** Where adding an item nudges the workers. */
  workQueueUrl: ['DSN_WORK_QUEUE_URL', text],
  /** Times a work item's op is tried before the item ends failed. */
  workMaxAttempts: [
    'DSN_WORK_MAX_ATTEMPTS',
    text.transform(Number).refine((v) => Number.isInteger(v) && v >= 1 && v <= 100, {
      error: (issue) => `must be an integer from 1 to 100, got "${issue.input}"`,
    }),
  ],
  /** Listeners: the participant structure and per-key sequences. */
  participantsTable: ['DSN_PARTICIPANTS_TABLE', text],
  /** Listeners: the initiator structure, listener records and their counts. */
  listenersTable: ['DSN_LISTENERS_TABLE', text],
  /** The delivery nodes' FIFO queues, in node order (infra/resources/listeners.cjs). */
  listenerNodeQueueUrls: ['DSN_LISTENER_NODE_QUEUE_URLS', list],
  /** The reader function's URL: the API's 307 sends reads above its payload limit there. */
  readerUrl: [
    'DSN_READER_URL',
    text.refine((v) => /^https?:\/\//.test(v), {
      error: (issue) => `must be an http(s) URL, got "${issue.input}"`,
    }),
  ],
  /** Access keys and sessions (seed 004), their secrets encrypted. */
  accessKeysTable: ['DSN_ACCESS_KEYS_TABLE', text],
  /** Leased roles, the admin commands' audit log and freeze marks (seed 004). */
  adminTable: ['DSN_ADMIN_TABLE', text],
  /** Replication (seeds 003, 004): jobs, tasks and the statuses applied to them. */
  replicationTable: ['DSN_REPLICATION_TABLE', text],
  /** The one queue every worker status goes through into the log. */
  replicationStatusQueueUrl: ['DSN_REPLICATION_STATUS_QUEUE_URL', text],
  /** Each replication worker's own queue, in worker order (infra/resources/replication.cjs). */
  replicationWorkerQueueUrls: ['DSN_REPLICATION_WORKER_QUEUE_URLS', list],
  /** The controller's state machine. */
  replicationStateMachineArn: ['DSN_REPLICATION_STATE_MACHINE_ARN', arn('states')],
  /** Objects above this many bytes are copied in parts of this size (S3 wants 5 MiB or more). */
  replicationPartBytes: [
    'DSN_REPLICATION_PART_BYTES',
    text.transform(Number).refine((v) => Number.isInteger(v) && v >= 1024 && v <= 5 * 1024 ** 3, {
      error: (issue) => `must be an integer from 1024 to 5 GiB in bytes, got "${issue.input}"`,
    }),
  ],
  /**
   * A disperser with less time than this left stops at its next segment boundary, records how
   * far it came, and queues the rest of the dispersal for its next invocation.
   */
  disperserMarginMs: ['DSN_DISPERSER_MARGIN_SECONDS', seconds],
  /**
   * How far apart the follow-ups of a staged upload its dispersal left `pending` come, until its
   * revision is decided (shared/store/upload-outcome.ts).
   */
  uploadFollowUpMs: ['DSN_UPLOAD_FOLLOW_UP_SECONDS', seconds],
  /** A worker with less time than this left stops at its next part boundary and asks to be migrated. */
  replicationDeadlineMarginMs: ['DSN_REPLICATION_DEADLINE_MARGIN_SECONDS', seconds],
} as const;

type Variables = typeof VARIABLES;
export type ConfigField = keyof Variables;

/** The whole configuration; a section is a `Pick` of it. */
export type DsnConfig = { [F in ConfigField]: z.output<Variables[F][1]> };

/** The pool of storage units: every system that touches slices reads it. */
export const POOL_SECTION = ['unitBuckets', 'unitRegions'] as const;

function read<F extends ConfigField>(env: Env, field: F): DsnConfig[F] {
  const [variable, schema] = VARIABLES[field];
  const result = schema.safeParse(env[variable] ?? '');
  if (!result.success)
    throw new ConfigError(variable, result.error.issues[0]?.message ?? 'is invalid');
  return result.data as DsnConfig[F];
}

/** Checks the pool's lists against DSN_UNIT_COUNT and each other. */
function checkPool(env: Env, config: Partial<DsnConfig>): void {
  const raw = text.safeParse(env.DSN_UNIT_COUNT ?? '');
  const unitCount = raw.success ? Number(raw.data) : Number.NaN;
  if (!Number.isInteger(unitCount) || unitCount < 1) {
    throw new ConfigError(
      'DSN_UNIT_COUNT',
      `must be a positive integer, got "${env.DSN_UNIT_COUNT}"`,
    );
  }
  const lists = [
    ['unitBuckets', 'DSN_UNIT_BUCKETS', 'buckets'],
    ['unitRegions', 'DSN_UNIT_REGIONS', 'regions'],
  ] as const;
  for (const [field, variable, noun] of lists) {
    const items = config[field];
    if (items !== undefined && items.length !== unitCount)
      throw new ConfigError(
        variable,
        `lists ${items.length} ${noun} but DSN_UNIT_COUNT is ${unitCount}`,
      );
  }
  const badRegion = config.unitRegions?.find((r) => !REGION.test(r));
  if (badRegion !== undefined) {
    throw new ConfigError('DSN_UNIT_REGIONS', `must list AWS region names, got "${badRegion}"`);
  }
}

/**
 * Reads `fields` (every field when left out) from `env` (default `process.env`).
 * @throws ConfigError naming the first variable that is missing or breaks its rule.
 */
export function loadConfig(env?: Env): DsnConfig;
export function loadConfig<F extends ConfigField>(
  env: Env,
  fields: readonly F[],
): Pick<DsnConfig, F>;
export function loadConfig(
  env: Env = process.env,
  fields: readonly ConfigField[] = Object.keys(VARIABLES) as ConfigField[],
): Partial<DsnConfig> {
  const config: Record<string, unknown> = {};
  for (const field of fields) config[field] = read(env, field);
  if (fields.some((f) => (POOL_SECTION as readonly string[]).includes(f))) checkPool(env, config);
  return config as Partial<DsnConfig>;
}

/** The unit a storage-unit function serves (`DSN_UNIT_INDEX`). */
export function unitIndex(env: Env = process.env): number {
  const raw = text.safeParse(env.DSN_UNIT_INDEX ?? '');
  if (!raw.success) throw new ConfigError('DSN_UNIT_INDEX', 'is required');
  const value = Number(raw.data);
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new ConfigError('DSN_UNIT_INDEX', `must be an integer 0..255, got "${raw.data}"`);
  }
  return value;
}

/** The delivery node a listener node function serves (`DSN_LISTENER_NODE`). */
export function listenerNodeIndex(env: Env = process.env): number {
  const raw = text.safeParse(env.DSN_LISTENER_NODE ?? '');
  if (!raw.success) throw new ConfigError('DSN_LISTENER_NODE', 'is required');
  const value = Number(raw.data);
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new ConfigError('DSN_LISTENER_NODE', `must be an integer 0..255, got "${raw.data}"`);
  }
  return value;
}

/** Where clamd listens: a TCP host and port, or a unix socket's path. */
export type ClamdAddress = { host: string; port: number } | { path: string };

/**
 * The clamd the scanner also asks (`DSN_CLAMD`: `host:port`, or an absolute unix socket path),
 * or undefined when the variable is unset: then the built-in signatures scan alone.
 */
export function clamdAddress(env: Env = process.env): ClamdAddress | undefined {
  const raw = env.DSN_CLAMD?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (raw.startsWith('/')) return { path: raw };
  const m = /^(.+):(\d{1,5})$/.exec(raw);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65_535)
    throw new ConfigError(
      'DSN_CLAMD',
      `must be host:port or an absolute unix socket path, got "${raw}"`,
    );
  return { host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

/** The replication worker a worker function is (`DSN_REPLICATION_WORKER`). */
export function replicationWorkerIndex(env: Env = process.env): number {
  const raw = text.safeParse(env.DSN_REPLICATION_WORKER ?? '');
  if (!raw.success) throw new ConfigError('DSN_REPLICATION_WORKER', 'is required');
  const value = Number(raw.data);
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new ConfigError('DSN_REPLICATION_WORKER', `must be an integer 0..255, got "${raw.data}"`);
  }
  return value;
}

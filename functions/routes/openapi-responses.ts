/**
 * The API's answers as zod schemas: the JSON each route returns and the error bodies, which
 * the OpenAPI document (openapi.ts) publishes and the tests check real answers against.
 */
import { z } from 'zod';
import { policySchema } from '../../shared/access/index.ts';
import { bucketSideSchema, vaultSideSchema } from '../../shared/replication/index.ts';
import { PROPOSAL_STATES } from '../../shared/topology/index.ts';

/** The error body of every failed call (`WriteThresholdNotMet` adds `revision`, `failedUnits`). */
export const errorBodySchema = z.strictObject({
  error: z.looseObject({ code: z.string(), message: z.string() }),
});

/**
 * The body of API Gateway's own answers, which never reach the handler: 503 when the function
 * did not answer in time, 429 when throttled, 404 for a route it does not have, 500.
 */
export const gatewayErrorSchema = z.strictObject({ message: z.string() });

export const isoTime = z.string();
export const cursor = z.string().nullable();

export const vaultSchema = z.looseObject({
  name: z.string(),
  width: z.int(),
  readThreshold: z.int(),
  writeThreshold: z.int(),
  segmentSize: z.int(),
  units: z.array(z.int()),
  address: z.string(),
  createdAt: isoTime,
});

export const healthSchema = z.strictObject({
  status: z.enum(['ok', 'degraded']),
  stage: z.string(),
  checks: z.array(
    z.strictObject({
      name: z.string(),
      ok: z.boolean(),
      ms: z.number(),
      error: z.string().optional(),
    }),
  ),
});

export const keySummarySchema = z.strictObject({
  accessKeyId: z.string(),
  policy: policySchema,
  protected: z.boolean(),
  clientGroup: z.string().optional(),
  state: z.enum(['active', 'disabled']),
  createdAt: isoTime,
});

export const issuedKeySchema = z.strictObject({
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  policy: policySchema,
  protected: z.boolean(),
  clientGroup: z.string().optional(),
});

export const sessionSchema = z.strictObject({
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  sessionToken: z.string(),
  expiration: isoTime,
  protected: z.boolean(),
});

export const written = z.strictObject({
  key: z.string(),
  revision: z.string(),
  size: z.int(),
  sha256: z.string(),
});

export const writePending = z.strictObject({
  key: z.string(),
  revision: z.string(),
  state: z.literal('pending'),
  poll: z.string(),
});

export const listingSchema = z.strictObject({
  objects: z.array(
    z.strictObject({
      key: z.string(),
      size: z.int(),
      revision: z.string(),
      sha256: z.string(),
      lastModified: isoTime.optional(),
      scanState: z.string(),
    }),
  ),
  commonPrefixes: z.array(z.string()),
  cursor,
});

export const revisionSchema = z.looseObject({
  revision: z.string(),
  key: z.string(),
  state: z.string(),
  createdAt: isoTime,
});

export const uploadSchema = z.looseObject({
  uploadId: z.string(),
  vault: z.string(),
  key: z.string(),
  state: z.enum(['open', 'dispersing', 'committed', 'failed', 'pending']),
  createdAt: isoTime,
  expiresAt: isoTime,
  /** The revision its dispersal writes, from the moment the disperser opened it. */
  revision: z.string().optional(),
  /** Bytes dispersed so far, while a dispersal in steps (one disperser invocation each) goes on. */
  dispersed: z.int().min(0).optional(),
});

/** A client's dispersal as opened: its revision and the geometry to encode with. */
export const dispersalSchema = z.strictObject({
  vault: z.string(),
  key: z.string(),
  revision: z.string(),
  objectId: z.string(),
  width: z.int(),
  readThreshold: z.int(),
  writeThreshold: z.int(),
  segmentSize: z.int(),
  units: z.array(z.int()),
  pendingUntil: isoTime,
});

/** A page of the caller's pending dispersals; `cursor` when another may follow. */
export const dispersalListingSchema = z.strictObject({
  dispersals: z.array(
    z.strictObject({
      revision: z.string(),
      key: z.string(),
      createdAt: isoTime,
      pendingUntil: isoTime,
      /** The token its client opened it with. */
      token: z.string().optional(),
    }),
  ),
  cursor: z.string().optional(),
});

/** A dispersal as it stands, for its writer to resume it. */
export const dispersalStateSchema = dispersalSchema.extend({
  state: z.enum(['pending', 'committed', 'failed', 'garbage']),
  segmentsDone: z.array(
    z.strictObject({ segment: z.int(), crc32: z.array(z.string()).optional() }),
  ),
  reason: z.string().optional(),
});

/** A cancelled dispersal: its revision failed; the janitor's next pass removes its slices. */
export const cancelledDispersalSchema = z.strictObject({
  revision: z.string(),
  state: z.literal('failed'),
  reason: z.string(),
});

/**
 * Presigned slice PUTs: send `headers` (`x-amz-checksum-crc32`, `if-none-match: *`) and a
 * `content-length` of `size`. Each URL creates its key once: 412 once it holds a slice.
 */
export const sliceUrlsSchema = z.strictObject({
  expiresAt: isoTime,
  /** The dispersal's due time, moved on by calls while it makes progress. */
  pendingUntil: isoTime,
  urls: z.array(
    z.strictObject({
      segment: z.int(),
      pillar: z.int(),
      unit: z.int(),
      key: z.string(),
      crc32: z.string(),
      size: z.int(),
      url: z.string(),
      headers: z.record(z.string(), z.string()),
    }),
  ),
});

const sliceGetUrl = z.strictObject({
  segment: z.int(),
  pillar: z.int(),
  unit: z.int(),
  url: z.string(),
});

/** A window of a revision's slices for a client's own read, with the manifest to rebuild it. */
export const retrievalSchema = z.strictObject({
  vault: z.string(),
  key: z.string(),
  revision: z.string(),
  objectId: z.string(),
  size: z.int(),
  sha256: z.string(),
  segments: z.int(),
  segmentSize: z.int(),
  readThreshold: z.int(),
  units: z.array(z.int()),
  committedAt: isoTime,
  first: z.int(),
  count: z.int(),
  expiresAt: isoTime,
  slices: z.array(sliceGetUrl),
  edge: z.array(sliceGetUrl),
});

export const rebuildJobSchema = z.looseObject({
  vault: z.string(),
  id: z.string(),
  state: z.string(),
  phase: z.string(),
  startedAt: isoTime,
  updatedAt: isoTime,
  etaSeconds: z.number().optional(),
});

export const topologyJobSchema = z.looseObject({
  state: z.enum(['running', 'done', 'failed']),
  segmentsDone: z.int(),
  segmentsTotal: z.int(),
  bytesMoved: z.int(),
  etaSeconds: z.int().nullable(),
});

export const topologyViewSchema = z.strictObject({
  current: z.string(),
  topologies: z.array(
    z.looseObject({
      id: z.string(),
      parent: z.string().nullable(),
      units: z.array(z.int()),
      width: z.int(),
      readThreshold: z.int(),
      writeThreshold: z.int(),
      votes: z.array(z.int()),
      state: z.enum(PROPOSAL_STATES),
    }),
  ),
  job: topologyJobSchema.optional(),
});

export const verdict = z.enum(['healthy', 'degraded', 'lost']);
export const explanationSchema = z.strictObject({
  vault: z.string(),
  key: z.string(),
  revision: z.string(),
  topology: z.string().optional(),
  topologies: z
    .array(
      z.strictObject({
        id: z.string(),
        state: z.enum(PROPOSAL_STATES),
        units: z.array(z.int()),
      }),
    )
    .optional(),
  size: z.int(),
  width: z.int(),
  readThreshold: z.int(),
  segmentCount: z.int(),
  verdict,
  minGood: z.int(),
  cursor: z.int().nullable(),
  segments: z.array(
    z.strictObject({
      segment: z.int(),
      good: z.int(),
      verdict,
      pillars: z.array(
        z.looseObject({
          pillar: z.int(),
          unit: z.int(),
          bucket: z.string(),
          units: z.record(z.string(), z.int()).optional(),
        }),
      ),
    }),
  ),
});

export const workItemSchema = z.looseObject({
  id: z.string(),
  seq: z.int(),
  op: z.string(),
  args: z.record(z.string(), z.unknown()),
  after: z.array(z.string()),
  state: z.enum(['queued', 'running', 'done', 'failed', 'cancelled']),
  attempts: z.int(),
  token: z.int(),
  createdAt: isoTime,
});

export const workExplanationSchema = z.strictObject({
  id: z.string(),
  state: z.string(),
  threshold: z.int(),
  units: z.array(z.looseObject({ unit: z.int() })),
});

export const listenerSchema = z.looseObject({
  id: z.string(),
  path: z.string(),
  recursive: z.boolean(),
  events: z.array(z.string()),
  target: z.looseObject({ type: z.enum(['sqs', 'webhook', 'lambda']) }),
  node: z.int(),
  createdAt: isoTime,
  expiresAt: isoTime.optional(),
});

export const listenerWithStatsSchema = listenerSchema.extend({
  delivered: z.int(),
  failed: z.int(),
});

export const rulesSummarySchema = z.looseObject({
  hashes: z.int(),
  patterns: z.int(),
  skipped: z.array(z.unknown()),
  updatedAt: isoTime.optional(),
});

/**
 * A side of a replication: the handler's body schemas take it as `unknown` and parse it with
 * one of these two (told apart by `vault`, parseSide), so the document shows both.
 */
export const side = z.union([vaultSideSchema, bucketSideSchema]);
export const replicationSchema = z.looseObject({
  id: z.string(),
  state: z.string(),
  source: side,
  destination: side,
  startedAt: isoTime,
  finishedAt: isoTime.optional(),
  /** Why it failed, when an end refused it. */
  error: z.string().optional(),
});

export const replicationRuleAnswerSchema = z.strictObject({
  vault: z.string(),
  destination: side,
  jobId: z.string(),
  createdAt: isoTime,
});

/** Pre-positioning (shared/edge/): a group as configured. */
export const edgeGroupSchema = z.strictObject({
  name: z.string(),
  edgeUnits: z.array(z.int()),
  budgetBytes: z.int(),
  halfLifeSeconds: z.int(),
  schedule: z.strictObject({
    bytesPerRun: z.int(),
    window: z.strictObject({ from: z.string(), to: z.string() }).optional(),
  }),
  updatedAt: isoTime,
});

export const edgeOverviewSchema = z.strictObject({
  edgeUnits: z.array(z.int()),
  groups: z.array(edgeGroupSchema),
});

const scoredObject = { vault: z.string(), key: z.string(), score: z.number() };

export const edgeGroupStateSchema = z.strictObject({
  group: edgeGroupSchema,
  staged: z.array(
    z.strictObject({
      ...scoredObject,
      revision: z.string(),
      bytes: z.int(),
      stagedAt: isoTime,
      slices: z.array(z.array(z.strictObject({ pillar: z.int(), unit: z.int() }))),
    }),
  ),
  bytesUsed: z.int(),
  scores: z.array(z.strictObject(scoredObject)),
  reads: z.number(),
});

export const planRequestedSchema = z.strictObject({
  group: z.string().optional(),
  requestedAt: isoTime,
});

export const lastPlanRunSchema = z.strictObject({
  lastRun: z
    .strictObject({
      group: z.string().optional(),
      startedAt: isoTime,
      finishedAt: isoTime,
      groups: z.array(
        z.strictObject({
          group: z.string(),
          targets: z.int(),
          staged: z.int(),
          evicted: z.int(),
          deferred: z.int(),
          refused: z.int(),
          /** Scores decayed past counting that the run removed (absent in runs before it did). */
          scoresPruned: z.int().optional(),
          /** Copies no staging record names, removed (absent in runs before it did). */
          straysRemoved: z.int().optional(),
          strayCheckAt: isoTime.optional(),
          bytesUsed: z.int(),
          budgetBytes: z.int(),
          note: z.string().optional(),
        }),
      ),
      /** Each group's last sweep of strays, carried across runs of one group. */
      strayChecks: z.record(z.string(), isoTime).optional(),
    })
    .nullable(),
});

/** An admin command's audit record (shared/topology/command-record.ts). */
export const commandRecordSchema = z.strictObject({
  id: z.string(),
  command: z.string(),
  args: z.record(z.string(), z.unknown()),
  by: z.string(),
  at: isoTime,
  state: z.enum(['running', 'succeeded', 'failed']),
  operations: z.array(
    z.strictObject({
      unit: z.int().nullable(),
      action: z.string(),
      outcome: z.enum(['done', 'unchanged', 'failed']),
      detail: z.string().optional(),
    }),
  ),
  finishedAt: isoTime.optional(),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
});

/** A leased role as `GET /admin/roles` shows it. */
export const roleSchema = z.strictObject({
  role: z.string(),
  holder: z.string().nullable(),
  token: z.int(),
  expiresAt: isoTime.nullable(),
  held: z.boolean(),
  acquiredAt: isoTime.optional(),
  renewedAt: isoTime.optional(),
});

/**
 * The HTTP API: API Gateway payload 2.0 in, JSON or bytes out. A thin adapter: each route
 * parses its input, calls shared/, and maps the result; errors map to status codes in
 * functions/http.ts.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { wireDeployment } from '../shared/aws/deployment.ts';
import { deploymentProbes } from '../shared/aws/health-probes.ts';
import {
  InvalidParameterError,
  ObjectNotFoundError,
  PayloadTooLargeError,
  WriteThresholdNotMetError,
} from '../shared/errors.ts';
import { checkHealth } from '../shared/health.ts';
import {
  explainObject,
  parseRebuildRequest,
  publicJob,
  startRebuild,
} from '../shared/repair/index.ts';
import {
  completeUpload,
  createUpload,
  createVault,
  ensureDefaultVault,
  GARBAGE_GRACE_MS,
  getUpload,
  INLINE_LIMIT,
  type IndexEntry,
  newRevisionId,
  openObject,
  putPart,
  validateKey,
  validateVaultName,
  writeObject,
} from '../shared/store/index.ts';
import { errorResult, type HttpResult, json, jsonBody, toErrorResult } from './http.ts';

const d = wireDeployment();
const { config } = d;
const probes = deploymentProbes(config, d.clients, d.unitS3);
const poolSize = config.unitBuckets.length;

const HEDGE_MS = 250;

type Route = (event: APIGatewayProxyEventV2) => Promise<HttpResult>;

function vaultParam(event: APIGatewayProxyEventV2): string {
  return validateVaultName(event.pathParameters?.vault, 'vault');
}

function keyParam(event: APIGatewayProxyEventV2): string {
  return validateKey(event.pathParameters?.key, 'key');
}

function objectHeaders(entry: IndexEntry): Record<string, string> {
  return {
    'x-dsn-revision': entry.revision,
    'x-dsn-sha256': entry.sha256,
    etag: `"${entry.sha256}"`,
    'accept-ranges': 'bytes',
    'last-modified': new Date(entry.committedAt).toUTCString(),
  };
}

const routes: Record<string, Route> = {
  'GET /health': async () => {
    const report = await checkHealth(config.stage, probes);
    return json(report.status === 'ok' ? 200 : 503, report);
  },
  'POST /vaults': async (event) =>
    json(
      201,
      await createVault(
        { vaults: d.vaults, subscriptions: d.subscriptions, poolSize },
        jsonBody(event),
      ),
    ),
  'GET /vaults': async () => json(200, { vaults: await d.vaults.list() }),
  'GET /vaults/{vault}': async (event) => json(200, await d.vaults.get(vaultParam(event))),

  'PUT /vaults/{vault}/objects/{key+}': async (event) => {
    const vault = vaultParam(event);
    const key = keyParam(event);
    const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    if (body.length > INLINE_LIMIT) {
      throw new PayloadTooLargeError(
        `body is ${body.length} bytes; a plain PUT takes at most ${INLINE_LIMIT}: use a staged upload (POST /vaults/${vault}/uploads), as dsn put does`,
        INLINE_LIMIT,
      );
    }
    async function* chunks() {
      yield body;
    }
    const outcome = await writeObject(d.writer, vault, key, chunks(), {
      waitMs: config.commitWaitMs,
    });
    if (outcome.state === 'failed')
      throw new WriteThresholdNotMetError(outcome.revision, outcome.failedUnits, outcome.reason);
    if (outcome.state === 'pending') {
      return json(202, {
        key,
        revision: outcome.revision,
        state: 'pending',
        poll: `/vaults/${vault}/revisions/${outcome.revision}`,
      });
    }
    return json(201, {
      key,
      revision: outcome.revision,
      size: outcome.size,
      sha256: outcome.sha256,
    });
  },

  'GET /vaults/{vault}/objects/{key+}': async (event) => {
    const vault = vaultParam(event);
    const key = keyParam(event);
    if (event.queryStringParameters?.explain !== undefined) {
      return json(
        200,
        await explainObject(
          { index: d.index, slices: d.slices, bucketOf: (unit) => config.unitBuckets[unit] ?? '' },
          vault,
          key,
        ),
      );
    }
    const range = event.headers.range;
    const opened = await openObject(
      { index: d.index, slices: d.slices, repair: d.repair, hedgeMs: HEDGE_MS },
      vault,
      key,
      range,
    );
    const span = opened.range.end - opened.range.start;
    if (span > INLINE_LIMIT) {
      throw new PayloadTooLargeError(
        `${span} bytes asked; one GET returns at most ${INLINE_LIMIT}: send Range requests (dsn get does)`,
        INLINE_LIMIT,
      );
    }
    const parts: Uint8Array[] = [];
    for await (const part of opened.body) parts.push(part);
    const headers: Record<string, string> = {
      ...objectHeaders(opened.entry),
      'content-type': 'application/octet-stream',
    };
    if (range)
      headers['content-range'] =
        `bytes ${opened.range.start}-${opened.range.end - 1}/${opened.entry.size}`;
    return {
      statusCode: range ? 206 : 200,
      headers,
      body: Buffer.concat(parts).toString('base64'),
      isBase64Encoded: true,
    };
  },

  'HEAD /vaults/{vault}/objects/{key+}': async (event) => {
    const vault = vaultParam(event);
    const key = keyParam(event);
    const entry = await d.index.get(vault, key);
    if (!entry) return { statusCode: 404 };
    return {
      statusCode: 200,
      headers: { ...objectHeaders(entry), 'x-dsn-size': String(entry.size) },
    };
  },

  'DELETE /vaults/{vault}/objects/{key+}': async (event) => {
    const vault = vaultParam(event);
    const key = keyParam(event);
    await d.vaults.get(vault);
    const removed = await d.index.remove(vault, key, newRevisionId());
    if (!removed) throw new ObjectNotFoundError(vault, key);
    await d.ledger.retire(removed.revision, Date.now() + GARBAGE_GRACE_MS);
    await d.events.publish({
      type: 'object.deleted',
      vault,
      key,
      revision: removed.revision,
      time: new Date().toISOString(),
    });
    return { statusCode: 204 };
  },

  'GET /vaults/{vault}/objects': async (event) => {
    const vault = vaultParam(event);
    await d.vaults.get(vault);
    const q = event.queryStringParameters ?? {};
    const limit = q.limit === undefined ? 1000 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new InvalidParameterError('limit', 'must be an integer 1..1000');
    }
    const page = await d.index.list(vault, q.prefix ?? '', limit, q.cursor);
    return json(200, {
      objects: page.entries.map((e) => ({
        key: e.key,
        size: e.size,
        revision: e.revision,
        sha256: e.sha256,
      })),
      cursor: page.cursor ?? null,
    });
  },

  'POST /vaults/{vault}/uploads': async (event) =>
    json(201, await createUpload(d, vaultParam(event), jsonBody(event))),
  'PUT /vaults/{vault}/uploads/{upload}/parts/{part}': async (event) => {
    const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    if (body.length > INLINE_LIMIT) {
      throw new PayloadTooLargeError(
        `a part is at most ${INLINE_LIMIT} bytes, got ${body.length}`,
        INLINE_LIMIT,
      );
    }
    const part = Number(event.pathParameters?.part);
    await putPart(d, vaultParam(event), String(event.pathParameters?.upload), part, body);
    return json(200, { part, size: body.length });
  },
  'POST /vaults/{vault}/uploads/{upload}/complete': async (event) => {
    const vault = vaultParam(event);
    const upload = await completeUpload(d, vault, String(event.pathParameters?.upload));
    return json(202, { ...upload, poll: `/vaults/${vault}/uploads/${upload.uploadId}` });
  },
  'GET /vaults/{vault}/uploads/{upload}': async (event) =>
    json(200, await getUpload(d, vaultParam(event), String(event.pathParameters?.upload))),

  'POST /vaults/{vault}/rebuild': async (event) => {
    const request = parseRebuildRequest(event.body ? jsonBody(event) : undefined);
    const job = await startRebuild(
      { vaults: d.vaults, jobs: d.rebuildJobs, trigger: d.rebuildTrigger },
      vaultParam(event),
      request,
    );
    return json(202, publicJob(job));
  },
  'GET /vaults/{vault}/rebuild': async (event) => {
    const vault = vaultParam(event);
    const job = await d.rebuildJobs.get(vault);
    if (job) return json(200, publicJob(job)); // jobs exist only for vaults (polled by --watch)
    await d.vaults.get(vault); // an unknown vault is a 404 of its own
    return errorResult(
      404,
      'RebuildNotFound',
      `no rebuild has run on vault "${vault}"; start one with POST /vaults/${vault}/rebuild`,
    );
  },

  'GET /vaults/{vault}/revisions/{revision}': async (event) => {
    const vault = vaultParam(event);
    const record = await d.ledger.get(String(event.pathParameters?.revision));
    if (!record || record.vault !== vault)
      return errorResult(404, 'RevisionNotFound', 'no such revision in this vault');
    const { revision, key, state, size, sha256, failedUnits, reason, createdAt, committedAt } =
      record;
    return json(200, {
      revision,
      key,
      state,
      size,
      sha256,
      failedUnits,
      reason,
      createdAt,
      committedAt,
    });
  },
};

let ready: Promise<void> | undefined;

export const handler = async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
  const route = routes[event.routeKey];
  if (!route) return errorResult(404, 'NotFound', `no route for ${event.routeKey}`);
  try {
    // Once per execution environment; a failure is retried by the next request.
    ready ??= ensureDefaultVault({ vaults: d.vaults, poolSize }).catch((err) => {
      ready = undefined;
      throw err;
    });
    await ready;
    return await route(event);
  } catch (err) {
    return toErrorResult(err);
  }
};

/**
 * The store's routes: vaults, objects, staged uploads and revisions. Each parses its input,
 * calls shared/store, and maps the result; errors map to status codes in functions/http.ts.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { gateRead, scanStateOf } from '../../shared/access/index.ts';
import type { wireStoreApi } from '../../shared/aws/store/wire.ts';
import {
  PayloadTooLargeError,
  RevisionNotFoundError,
  WriteThresholdNotMetError,
} from '../../shared/errors.ts';
import {
  completeUpload,
  createUpload,
  createVault,
  deleteObject,
  getUpload,
  INLINE_LIMIT,
  type IndexEntry,
  openObject,
  parsePartNumber,
  parseUploadId,
  putPart,
  validateKey,
  validateKeyPrefix,
  validateVaultName,
  writeObject,
} from '../../shared/store/index.ts';
import { decimalInteger, parseWith, resourceId } from '../../shared/validate.ts';
import { binaryBody, json, jsonBody, principalOf, type Route, singleChunk } from '../http.ts';

export type StoreApi = ReturnType<typeof wireStoreApi>;

/** Who makes the request, for per-caller quotas: the source address, until requests are signed. */
function callerOf(event: APIGatewayProxyEventV2): string {
  return `ip:${event.requestContext?.http?.sourceIp ?? 'unknown'}`;
}

export function vaultParam(event: APIGatewayProxyEventV2): string {
  return validateVaultName(event.pathParameters?.vault, 'vault');
}

function keyParam(event: APIGatewayProxyEventV2): string {
  return validateKey(event.pathParameters?.key, 'key');
}

function uploadParam(event: APIGatewayProxyEventV2): string {
  return parseUploadId(event.pathParameters?.upload);
}

const revisionIdSchema = resourceId();
const limitSchema = decimalInteger(1, 1000);

function objectHeaders(entry: IndexEntry): Record<string, string> {
  return {
    'x-dsn-revision': entry.revision,
    'x-dsn-sha256': entry.sha256,
    etag: `"${entry.sha256}"`,
    'accept-ranges': 'bytes',
    'last-modified': new Date(entry.committedAt).toUTCString(),
    'x-dsn-scan-state': scanStateOf(entry),
  };
}

export function storeRoutes(s: StoreApi): Record<string, Route> {
  return {
    'POST /vaults': async (event) =>
      json(
        201,
        await createVault(
          { vaults: s.catalog, poolSize: s.poolSize, memoryBytes: s.memoryBytes, clock: s.clock },
          jsonBody(event),
        ),
      ),
    'GET /vaults': async () => json(200, { vaults: await s.catalog.list() }),
    'GET /vaults/{vault}': async (event) => json(200, await s.vaults.get(vaultParam(event))),

    'PUT /vaults/{vault}/objects/{key+}': async (event) => {
      const vault = vaultParam(event);
      const key = keyParam(event);
      const body = binaryBody(
        event,
        INLINE_LIMIT,
        (size) =>
          `body is ${size} bytes; a plain PUT takes at most ${INLINE_LIMIT}: use a staged upload (POST /vaults/${vault}/uploads), as dsn put does`,
      );
      const outcome = await writeObject(s.writer, vault, key, singleChunk(body), {
        waitMs: s.commitWaitMs,
        writer: principalOf(event).rootKeyId,
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
      const range = event.headers.range;
      const opened = await openObject(s.reader, vaultParam(event), keyParam(event), range);
      // Before any slice is read: the body stream starts only when iterated.
      gateRead(principalOf(event), opened.entry);
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
      const entry = await s.reader.index.get(vaultParam(event), keyParam(event));
      if (!entry) return { statusCode: 404 };
      gateRead(principalOf(event), entry);
      return {
        statusCode: 200,
        headers: { ...objectHeaders(entry), 'x-dsn-size': String(entry.size) },
      };
    },

    'DELETE /vaults/{vault}/objects/{key+}': async (event) => {
      await deleteObject(s.deleter, vaultParam(event), keyParam(event));
      return { statusCode: 204 };
    },

    'GET /vaults/{vault}/objects': async (event) => {
      const vault = vaultParam(event);
      await s.vaults.get(vault);
      const q = event.queryStringParameters ?? {};
      const limit =
        q.limit === undefined ? 1000 : parseWith(limitSchema, q.limit, { name: 'limit' });
      const prefix = validateKeyPrefix(q.prefix);
      // The index refuses a cursor it did not give; an empty one has always meant the first page.
      const page = await s.reader.index.list(vault, prefix, limit, q.cursor || undefined);
      return json(200, {
        objects: page.entries.map((e) => ({
          key: e.key,
          size: e.size,
          revision: e.revision,
          sha256: e.sha256,
          scanState: scanStateOf(e),
        })),
        cursor: page.cursor ?? null,
      });
    },

    'POST /vaults/{vault}/uploads': async (event) =>
      json(
        201,
        await createUpload(
          s.uploads,
          vaultParam(event),
          jsonBody(event),
          callerOf(event),
          principalOf(event).rootKeyId,
        ),
      ),
    'PUT /vaults/{vault}/uploads/{upload}/parts/{part}': async (event) => {
      const vault = vaultParam(event);
      const upload = uploadParam(event);
      const part = parsePartNumber(event.pathParameters?.part);
      const body = binaryBody(
        event,
        INLINE_LIMIT,
        (size) => `a part is at most ${INLINE_LIMIT} bytes, got ${size}`,
      );
      await putPart(s.uploads, vault, upload, part, body);
      return json(200, { part, size: body.length });
    },
    'POST /vaults/{vault}/uploads/{upload}/complete': async (event) => {
      const vault = vaultParam(event);
      const upload = await completeUpload(s.uploads, vault, uploadParam(event));
      return json(202, { ...upload, poll: `/vaults/${vault}/uploads/${upload.uploadId}` });
    },
    'GET /vaults/{vault}/uploads/{upload}': async (event) =>
      json(200, await getUpload(s.uploads, vaultParam(event), uploadParam(event))),

    'GET /vaults/{vault}/revisions/{revision}': async (event) => {
      const vault = vaultParam(event);
      const id = parseWith(revisionIdSchema, event.pathParameters?.revision, { name: 'revision' });
      const record = await s.ledger.get(id);
      if (!record || record.vault !== vault) throw new RevisionNotFoundError(vault, id);
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
}

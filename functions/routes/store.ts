/**
 * The store's routes: vaults, objects, staged uploads and revisions. Each parses its input,
 * calls shared/store, and maps the result; errors map to status codes in functions/http.ts.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { gateRead, scanStateOf } from '../../shared/access/index.ts';
import type { wireStoreApi } from '../../shared/aws/store/wire.ts';
import { type EdgeReads, edgeOutcome } from '../../shared/edge/index.ts';
import {
  ObjectNotFoundError,
  PreconditionFailedError,
  RevisionNotFoundError,
  TopologySupersededError,
  WriteThresholdNotMetError,
} from '../../shared/errors.ts';
import {
  abortUpload,
  announceSegments,
  cancelDispersal,
  completeDispersal,
  completeUpload,
  createUpload,
  createVault,
  deleteObject,
  describeDispersal,
  getUpload,
  grantRead,
  INLINE_LIMIT,
  type IndexEntry,
  isSuperseded,
  listDispersals,
  listObjects,
  openDispersal,
  openEntry,
  openRetrieval,
  parseListingQuery,
  parseObjectAttributes,
  parsePartNumber,
  parsePrecondition,
  parseRange,
  parseUploadId,
  presignSlices,
  putPart,
  rangeApplies,
  readPrecondition,
  reportDamage,
  objectHeaders as storedHeaders,
  validateKey,
  validateVaultName,
  type WriteOutcome,
  writeObject,
} from '../../shared/store/index.ts';
import { parseWith, resourceId } from '../../shared/validate.ts';
import { binaryBody, json, jsonBody, principalOf, type Route, singleChunk } from '../http.ts';
import { clientGroupOf } from './edge.ts';

export type StoreApi = ReturnType<typeof wireStoreApi>;

export function vaultParam(event: APIGatewayProxyEventV2): string {
  return validateVaultName(event.pathParameters?.vault, 'vault');
}

function keyParam(event: APIGatewayProxyEventV2): string {
  return validateKey(event.pathParameters?.key, 'key');
}

function uploadParam(event: APIGatewayProxyEventV2): string {
  return parseUploadId(event.pathParameters?.upload);
}

export const revisionIdSchema = resourceId();

function revisionParam(event: APIGatewayProxyEventV2): string {
  return parseWith(revisionIdSchema, event.pathParameters?.revision, { name: 'revision' });
}
/** An object's headers, with its scan state (`x-dsn-scan-state`) for the reads here. */
function objectHeaders(entry: IndexEntry): Record<string, string> {
  return { ...storedHeaders(entry), 'x-dsn-scan-state': scanStateOf(entry) };
}

/**
 * A 304's headers: the validators and what a cache updates (RFC 9110, 15.4.5), not the
 * representation's (no content-type, size or metadata of a body that is not sent).
 */
function notModifiedHeaders(entry: IndexEntry): Record<string, string> {
  const all = storedHeaders(entry);
  return {
    etag: all.etag as string,
    'last-modified': all['last-modified'] as string,
    ...(all['cache-control'] === undefined ? {} : { 'cache-control': all['cache-control'] }),
    ...(all.expires === undefined ? {} : { expires: all.expires }),
  };
}

/** A write's outcome as PUT answers it (and a client's dispersal, completed). */
function writeAnswer(vault: string, key: string, outcome: WriteOutcome) {
  if (outcome.state === 'failed' && isSuperseded(outcome.reason))
    throw new TopologySupersededError(outcome.revision, outcome.reason);
  if (outcome.state === 'failed')
    throw new WriteThresholdNotMetError(outcome.revision, outcome.failedUnits, outcome.reason);
  if (outcome.state === 'refused') throw new PreconditionFailedError(key, outcome.reason);
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
}

/** `edge`: the reads' side of pre-positioning; without it every read is from the home units. */
export function storeRoutes(s: StoreApi, edge?: EdgeReads): Record<string, Route> {
  return {
    'POST /vaults': async (event) =>
      json(
        201,
        await createVault(
          {
            vaults: s.catalog,
            poolSize: s.poolSize,
            memoryBytes: s.memoryBytes,
            clock: s.clock,
            edgeUnits: s.edgeUnits,
          },
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
        attributes: parseObjectAttributes(event.headers),
        precondition: parsePrecondition(event.headers),
        writer: principalOf(event).rootKeyId,
      });
      return writeAnswer(vault, key, outcome);
    },

    'GET /vaults/{vault}/objects/{key+}': async (event) => {
      const asked = event.headers.range;
      const vault = vaultParam(event);
      const key = keyParam(event);
      const current = await s.reader.index.get(vault, key);
      if (!current) throw new ObjectNotFoundError(vault, key);
      // The scan gate first: a caller it refuses gets its 403, never a 304 nor a read grant
      // (and no slice is read: the body stream starts only when iterated).
      gateRead(principalOf(event), current);
      if (readPrecondition(event.headers, key, current) === 'not-modified')
        return { statusCode: 304, headers: notModifiedHeaders(current) };
      // A Range under an If-Range that no longer holds: the whole object, never a part of
      // another version than the client holds.
      const range = rangeApplies(event.headers['if-range'], current) ? asked : undefined;
      const span = range ? parseRange(range, current.size) : { start: 0, end: current.size };
      // Beyond what one Lambda response carries, the reader function streams it: clients that
      // follow redirects (curl -L, browsers, SDKs) get any size, Range included.
      // The read counts for the caller's client group, and the group's staged copies of this
      // revision are offered to whichever serves it: the grant carries them to the reader.
      const staged = await edge?.forRead(clientGroupOf(event), current);
      if (span.end - span.start > INLINE_LIMIT) {
        // The reader function applies the same If-Range when the client sends it on.
        return {
          statusCode: 307,
          headers: {
            location: await grantRead(s.grants, s.readerUrl, current, staged),
            'cache-control': 'no-store',
          },
        };
      }
      const opened = openEntry(s.reader, current, range, staged);
      const parts: Uint8Array[] = [];
      for await (const part of opened.body) parts.push(part);
      const headers: Record<string, string> = {
        ...objectHeaders(opened.entry),
        'x-dsn-edge': edgeOutcome(staged?.served),
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
      const key = keyParam(event);
      const entry = await s.reader.index.get(vaultParam(event), key);
      if (!entry) return { statusCode: 404 };
      gateRead(principalOf(event), entry);
      // As GET's: 412 (with no body, as HEAD has none) or 304.
      try {
        if (readPrecondition(event.headers, key, entry) === 'not-modified')
          return { statusCode: 304, headers: notModifiedHeaders(entry) };
      } catch (err) {
        if (err instanceof PreconditionFailedError) return { statusCode: 412 };
        throw err;
      }
      // The size as a body-less content-length, as HTTP has HEAD answer (RFC 9110, 9.3.2).
      return {
        statusCode: 200,
        headers: { ...objectHeaders(entry), 'content-length': String(entry.size) },
      };
    },

    'DELETE /vaults/{vault}/objects/{key+}': async (event) => {
      await deleteObject(s.deleter, vaultParam(event), keyParam(event));
      return { statusCode: 204 };
    },

    'GET /vaults/{vault}/objects': async (event) => {
      const vault = vaultParam(event);
      const query = parseListingQuery(event.queryStringParameters ?? {});
      await s.vaults.get(vault);
      const page = await listObjects(s.reader.index, vault, query);
      return json(200, {
        objects: page.objects.map((e) => ({
          key: e.key,
          size: e.size,
          revision: e.revision,
          sha256: e.sha256,
          lastModified: e.committedAt,
          scanState: scanStateOf(e),
        })),
        commonPrefixes: page.commonPrefixes,
        cursor: page.cursor ?? null,
      });
    },

    'POST /vaults/{vault}/uploads': async (event) => {
      // The open-uploads quota is the signing root key's: its child keys share it, and one
      // address (a NAT) holds many callers.
      const writer = principalOf(event).rootKeyId;
      return json(
        201,
        await createUpload(s.uploads, vaultParam(event), jsonBody(event), `key:${writer}`, writer),
      );
    },
    'PUT /vaults/{vault}/uploads/{upload}/parts/{part}': async (event) => {
      const vault = vaultParam(event);
      const upload = uploadParam(event);
      const part = parsePartNumber(event.pathParameters?.part);
      const body = binaryBody(
        event,
        INLINE_LIMIT,
        (size) => `a part is at most ${INLINE_LIMIT} bytes, got ${size}`,
      );
      await putPart(s.uploads, vault, upload, part, body, principalOf(event).rootKeyId);
      return json(200, { part, size: body.length });
    },
    'POST /vaults/{vault}/uploads/{upload}/complete': async (event) => {
      const vault = vaultParam(event);
      const upload = await completeUpload(
        s.uploads,
        vault,
        uploadParam(event),
        principalOf(event).rootKeyId,
      );
      return json(202, { ...upload, poll: `/vaults/${vault}/uploads/${upload.uploadId}` });
    },
    // An upload is its opener's: another key (even with write on the vault) finds none.
    'GET /vaults/{vault}/uploads/{upload}': async (event) =>
      json(
        200,
        await getUpload(
          s.uploads,
          vaultParam(event),
          uploadParam(event),
          principalOf(event).rootKeyId,
        ),
      ),
    'DELETE /vaults/{vault}/uploads/{upload}': async (event) =>
      json(
        200,
        await abortUpload(
          s.uploads,
          vaultParam(event),
          uploadParam(event),
          principalOf(event).rootKeyId,
        ),
      ),

    'POST /vaults/{vault}/dispersals': async (event) =>
      json(
        201,
        await openDispersal(
          s.dispersals,
          vaultParam(event),
          jsonBody(event),
          principalOf(event).rootKeyId,
        ),
      ),
    'POST /vaults/{vault}/dispersals/{revision}/urls': async (event) =>
      json(
        200,
        await presignSlices(
          s.dispersals,
          vaultParam(event),
          revisionParam(event),
          jsonBody(event),
          principalOf(event).rootKeyId,
        ),
      ),
    'POST /vaults/{vault}/dispersals/{revision}/segments': async (event) =>
      json(
        202,
        await announceSegments(
          s.dispersals,
          vaultParam(event),
          revisionParam(event),
          jsonBody(event),
          principalOf(event).rootKeyId,
        ),
      ),
    'POST /vaults/{vault}/dispersals/{revision}/complete': async (event) => {
      const vault = vaultParam(event);
      const outcome = await completeDispersal(
        s.dispersals,
        vault,
        revisionParam(event),
        jsonBody(event),
        s.commitWaitMs,
        principalOf(event).rootKeyId,
      );
      return writeAnswer(vault, outcome.key, outcome);
    },

    // The caller's pending dispersals, for one that lost a revision.
    'GET /vaults/{vault}/dispersals': async (event) =>
      json(
        200,
        await listDispersals(
          s.dispersals,
          vaultParam(event),
          event.queryStringParameters ?? {},
          principalOf(event).rootKeyId,
        ),
      ),
    // Where a dispersal stands, for its writer to resume it.
    'GET /vaults/{vault}/dispersals/{revision}': async (event) =>
      json(
        200,
        await describeDispersal(
          s.dispersals,
          vaultParam(event),
          revisionParam(event),
          principalOf(event).rootKeyId,
        ),
      ),
    // The writer gives up: nothing of it commits after this answer, and the janitor removes
    // what it placed.
    'DELETE /vaults/{vault}/dispersals/{revision}': async (event) =>
      json(
        200,
        await cancelDispersal(
          s.dispersals,
          vaultParam(event),
          revisionParam(event),
          principalOf(event).rootKeyId,
        ),
      ),

    // A client's own read: the scan gate decides as for GET, before any URL is signed, and the
    // caller's client group is counted and offered its edge copies as for GET.
    'POST /vaults/{vault}/retrievals': async (event) =>
      json(
        200,
        await openRetrieval(
          s.retrievals,
          vaultParam(event),
          jsonBody(event),
          (entry) => gateRead(principalOf(event), entry),
          async (entry, opening) => edge?.forRead(clientGroupOf(event), entry, { count: opening }),
        ),
      ),
    'POST /vaults/{vault}/retrievals/damage': async (event) =>
      json(
        202,
        await reportDamage(s.retrievals, vaultParam(event), jsonBody(event), (entry) =>
          gateRead(principalOf(event), entry),
        ),
      ),

    'GET /vaults/{vault}/revisions/{revision}': async (event) => {
      const vault = vaultParam(event);
      const id = parseWith(revisionIdSchema, event.pathParameters?.revision, { name: 'revision' });
      const record = await s.ledger.get(id);
      if (!record || record.vault !== vault) throw new RevisionNotFoundError(vault, id);
      const {
        revision,
        key,
        state,
        size,
        sha256,
        failedUnits,
        reason,
        createdAt,
        committedAt,
        refused,
      } = record;
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
        // A conditional PUT answered 202 learns here whether its precondition held.
        refused,
      });
    },
  };
}

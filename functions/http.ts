/**
 * HTTP plumbing shared by the API handler: JSON responses, and the one place where domain
 * errors become status codes and `{"error":{"code","message"}}` bodies.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { LOCAL_ROOT, type Principal, policySchema } from '../shared/access/index.ts';
import {
  DsnError,
  PayloadTooLargeError,
  RangeNotSatisfiableError,
  RebuildRestartTooSoonError,
  statusOf,
  UnauthenticatedError,
  WriteThresholdNotMetError,
} from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { parseJson } from '../shared/validate.ts';

export type HttpResult = APIGatewayProxyStructuredResultV2;

export type Route = (event: APIGatewayProxyEventV2) => Promise<HttpResult>;

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** The error body of every failed call. */
export function errorResult(statusCode: number, code: string, message: string): HttpResult {
  return json(statusCode, { error: { code, message } });
}

/** Maps a thrown error to its response; anything unexpected is a 500 that hides internals. */
export function toErrorResult(err: unknown, log: Logger): HttpResult {
  if (err instanceof DsnError) {
    const result = errorResult(statusOf(err), err.code, err.message);
    if (err instanceof WriteThresholdNotMetError) {
      result.body = JSON.stringify({
        error: {
          code: 'WriteThresholdNotMet',
          message: err.message,
          revision: err.revision,
          failedUnits: err.failedUnits,
        },
      });
    }
    if (err instanceof RangeNotSatisfiableError)
      result.headers = { ...result.headers, 'content-range': `bytes */${err.size}` };
    if (err instanceof RebuildRestartTooSoonError)
      result.headers = { ...result.headers, 'retry-after': String(err.retryAfterSeconds) };
    return result;
  }
  log.error('unexpected error', err);
  return errorResult(500, 'Internal', 'internal error; see the function log');
}

/**
 * Parses a JSON request body. @throws InvalidParameterError on `body` when it is not JSON or
 * nests deeper than `MAX_JSON_DEPTH`.
 */
export function jsonBody(event: APIGatewayProxyEventV2): unknown {
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  return parseJson(raw, 'body', 'must be valid JSON');
}

/**
 * The request body as bytes, refused past `limit` with a 413 whose message `tooLarge` words
 * for the route. @throws PayloadTooLargeError
 */
export function binaryBody(
  event: APIGatewayProxyEventV2,
  limit: number,
  tooLarge: (size: number) => string,
): Buffer {
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (body.length > limit) throw new PayloadTooLargeError(tooLarge(body.length), limit);
  return body;
}

/** A body already in memory, as the stream the writer reads. */
export async function* singleChunk(body: Uint8Array): AsyncGenerator<Uint8Array> {
  yield body;
}

/** The authorizer's `context.principal`, checked rather than cast. */
const principalSchema = z.strictObject({
  accessKeyId: z.string().min(1),
  rootKeyId: z.string().min(1),
  policy: policySchema,
  protected: z.boolean(),
  clientGroup: z.string().optional(),
});

/**
 * The caller of a request, from the authorizer's context (`principal`, the JSON of a
 * `Principal`, since a Lambda authorizer's context holds only strings, numbers and booleans).
 * A request with no authorizer context is the local root only where authentication is off (the
 * local cloud with `DSN_AUTH=off`, which sets it in every function's environment); anywhere
 * else it is refused, so a route that lost its authorizer fails closed.
 * @throws UnauthenticatedError when the authorizer ran and did not establish a caller, or did
 *   not run where it must
 */
export function principalOf(event: APIGatewayProxyEventV2): Principal {
  const context = (
    event.requestContext as { authorizer?: { lambda?: Record<string, unknown> } } | undefined
  )?.authorizer?.lambda;
  if (context === undefined || context === null) {
    if (process.env.DSN_AUTH === 'off') return LOCAL_ROOT;
    throw new UnauthenticatedError(
      'MissingAuthentication',
      'the request reached the API with no authorizer context (its route names no authorizer)',
    );
  }
  const raw = context.principal;
  if (typeof raw === 'string') return principalSchema.parse(JSON.parse(raw));
  const failure = context.unauthenticated;
  const { code, message } =
    typeof failure === 'string'
      ? (JSON.parse(failure) as { code: string; message: string })
      : { code: 'MissingAuthentication', message: 'the request is not signed' };
  throw new UnauthenticatedError(code, message);
}

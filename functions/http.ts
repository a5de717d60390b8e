/**
 * HTTP plumbing shared by the API handler: JSON responses, and the one place where domain
 * errors become status codes and `{"error":{"code","message"}}` bodies.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  DsnError,
  InvalidParameterError,
  ObjectNotFoundError,
  PayloadTooLargeError,
  RangeNotSatisfiableError,
  SegmentLostError,
  TooFewShardsError,
  UploadNotFoundError,
  UploadStateError,
  VaultExistsError,
  VaultNotFoundError,
  WriteThresholdNotMetError,
} from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';

export type HttpResult = APIGatewayProxyStructuredResultV2;

export type Route = (event: APIGatewayProxyEventV2) => Promise<HttpResult>;

const STATUS: Array<[new (...args: never[]) => DsnError, number]> = [
  [InvalidParameterError, 400],
  [VaultNotFoundError, 404],
  [ObjectNotFoundError, 404],
  [VaultExistsError, 409],
  [UploadNotFoundError, 404],
  [UploadStateError, 409],
  [PayloadTooLargeError, 413],
  [RangeNotSatisfiableError, 416],
  [WriteThresholdNotMetError, 503],
  [SegmentLostError, 503],
  [TooFewShardsError, 503],
];

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
    const status = STATUS.find(([type]) => err instanceof type)?.[1] ?? 500;
    const result = errorResult(status, err.name.replace(/Error$/, ''), err.message);
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
    return result;
  }
  log.error('unexpected error', err);
  return errorResult(500, 'Internal', 'internal error; see the function log');
}

/** Parses a JSON request body. @throws InvalidParameterError when it is not JSON. */
export function jsonBody(event: APIGatewayProxyEventV2): unknown {
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new InvalidParameterError('body', 'must be valid JSON', { cause: err });
  }
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

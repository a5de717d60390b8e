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

export type HttpResult = APIGatewayProxyStructuredResultV2;

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
export function toErrorResult(err: unknown): HttpResult {
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
  console.error('unexpected error', err);
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

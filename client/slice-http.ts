/**
 * The HTTP of slices sent to and read from the units' buckets through presigned URLs, shared by
 * client-side dispersal (uplink.ts) and client-side reads (downlink.ts): one request per slice,
 * and S3's error documents read for their code. The request itself is the platform's
 * (`#slice-request` in client/package.json): node:http on keep-alive connections in Node
 * (slice-request.node.ts), fetch in a browser (slice-request.web.ts).
 */
export { sliceRequest } from '#slice-request';

/** One slice request: a GET, or a PUT of `body` with its signed headers. */
export interface SliceRequest {
  method: 'GET' | 'PUT';
  headers?: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
}

/** What one slice request came back with: its status and body (an S3 error document when not 2xx). */
export interface SliceResponse {
  status: number;
  body: Uint8Array;
}

/**
 * No slice request got an answer: the units' buckets cannot be reached from this client (a
 * network that reaches the API only, a proxy, a page whose origin the buckets' CORS rules do not
 * allow), which says nothing of the units themselves. The caller may take the API's path.
 */
export class UnitsUnreachableError extends Error {
  constructor(cause: unknown) {
    const e = cause as { code?: unknown; message?: unknown };
    const reason = typeof e?.code === 'string' ? e.code : String(e?.message ?? cause);
    super(`no unit's bucket answered this client (${reason})`, { cause });
    this.name = 'UnitsUnreachableError';
  }
}

const utf8 = new TextDecoder();

/** `Code` and `Message` of an S3 error document (empty when the body is none). */
export function s3ErrorOf(body: Uint8Array): { code: string; message: string } {
  const text = utf8.decode(body.subarray(0, 4096));
  return {
    code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '',
    message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '',
  };
}

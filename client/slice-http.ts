/**
 * The HTTP of slices sent to and read from the units' buckets through presigned URLs, shared by
 * client-side dispersal (uplink.ts) and client-side reads (downlink.ts): keep-alive connections,
 * one request per slice over node:http, and S3's error documents read for their code.
 *
 * node:http rather than fetch: fetch copies a Uint8Array body before sending it, which with a
 * dozen 2 MiB slices in flight is the difference between staying under the memory bound and not.
 */
import http from 'node:http';
import https from 'node:https';

/** What one slice request came back with: its status and body (an S3 error document when not 2xx). */
export interface SliceResponse {
  status: number;
  body: Uint8Array;
}

/** Connections kept open between slice requests: one per request in flight. */
const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};

/** Sends one slice request and reads its answer whole. */
export function sliceRequest(
  url: string,
  init: {
    method: 'GET' | 'PUT';
    headers?: Record<string, string>;
    body?: Uint8Array;
    signal?: AbortSignal;
  },
): Promise<SliceResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const req = (secure ? https : http).request(
      target,
      {
        method: init.method,
        agent: secure ? agents.https : agents.http,
        headers: {
          ...init.headers,
          ...(init.body ? { 'content-length': String(init.body.length) } : {}),
        },
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 500, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** `Code` and `Message` of an S3 error document (empty when the body is none). */
export function s3ErrorOf(body: Uint8Array): { code: string; message: string } {
  const text = Buffer.from(body.buffer, body.byteOffset, Math.min(body.length, 4096)).toString(
    'utf8',
  );
  return {
    code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '',
    message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '',
  };
}

/**
 * One slice request over node:http, on keep-alive connections: the `#slice-request` of every
 * build but a browser's (slice-request.web.ts there).
 *
 * node:http rather than fetch: fetch copies a Uint8Array body before sending it, which with a
 * dozen 2 MiB slices in flight is the difference between staying under the memory bound and not.
 */
import http from 'node:http';
import https from 'node:https';
import type { SliceRequest, SliceResponse } from './slice-http.ts';

/** Connections kept open between slice requests: one per request in flight. */
const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};

/** Sends one slice request and reads its answer whole. */
export function sliceRequest(url: string, init: SliceRequest): Promise<SliceResponse> {
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

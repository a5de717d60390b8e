/**
 * One slice request with fetch: the `#slice-request` of a browser build (the console's), where
 * the units' buckets answer across origins by their CORS rules (serverless.yml's
 * `custom.dsn.browserOrigins`). A bucket that allows no CORS fails as a network error.
 */
import type { SliceRequest, SliceResponse } from './slice-http.ts';

/** Sends one slice request and reads its answer whole. */
export async function sliceRequest(url: string, init: SliceRequest): Promise<SliceResponse> {
  const res = await fetch(url, {
    method: init.method,
    ...(init.headers ? { headers: init.headers } : {}),
    // As a Blob: Chromium 156 sent a 2 MiB ArrayBuffer body at 17 MiB/s here, spending some 30
    // ms of the page's thread in each fetch call, and the same bytes as a Blob at 190-210 MiB/s
    // (48 PUTs, 12 at once, to the local S3). The Blob is one copy made at once.
    ...(init.body ? { body: new Blob([init.body as Uint8Array<ArrayBuffer>]) } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
}

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
    ...(init.body ? { body: init.body as Uint8Array<ArrayBuffer> } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
}

/**
 * A downlink slice sender for expiry tests: every slice GET waits until the URL it was given has
 * expired (S3 answers 403), then sends it, so the read meets its first window's URLs expired.
 */
import type { SliceGet } from '../../client/downlink.ts';
import { eventually } from './local-cloud.ts';

export function heldUntilExpired(): SliceGet {
  let expiry: Promise<unknown> | undefined;
  let expired = false;
  return async (url, signal) => {
    if (!expired) {
      expiry ??= eventually(
        async () => ((await fetch(url)).status === 403 ? true : undefined),
        'the URLs to expire',
      ).then(() => {
        expired = true;
      });
      await expiry;
    }
    const res = await fetch(url, { signal });
    return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
  };
}

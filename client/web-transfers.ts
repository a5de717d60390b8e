/**
 * Client-side dispersal and reads in a browser, the web console's path for large objects: the
 * page encodes with the server's codec (WASM) and PUTs each slice straight into its unit's
 * bucket through a presigned URL (uplink.ts), and reads them back the same way (downlink.ts).
 * The bundler's `browser` condition swaps in the platform's pieces: fetch for the slice requests
 * (`#slice-request`), a table CRC-32 and a WebAssembly SHA-256 for the codec (`#codec/crc32`,
 * `#codec/sha256`). The units' buckets must allow the page's origin by CORS
 * (`custom.dsn.browserOrigins`); where one does not, its slices fail as a unit that is down.
 */
import './web-buffer.ts';

export {
  type DownlinkOptions,
  type DownlinkStats,
  openDownlink,
  UnitsUnreachableError,
} from './downlink.ts';
export { type UplinkOptions, type UplinkResult, uplinkPut } from './uplink.ts';

/**
 * From this size up the console disperses and reads on the page, as the CLI does
 * (bin/put.ts UPLINK_THRESHOLD, bin/get.ts DOWNLINK_THRESHOLD): below it, one API call costs
 * less than a dispersal's four or a window of URLs.
 */
export const CLIENT_SIDE_THRESHOLD = 8 * 1024 * 1024;

/** A Blob's (a File's) bytes as the uplink takes them, read as they come, never whole. */
export async function* chunksOf(blob: Blob): AsyncGenerator<Uint8Array> {
  const reader = blob.stream().getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

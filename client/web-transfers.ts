/**
 * Client-side dispersal and reads in a browser, the web console's path for large objects: the
 * page encodes with the server's codec (WASM) and PUTs each slice straight into its unit's
 * bucket through a presigned URL (uplink.ts), and reads them back the same way (downlink.ts).
 * The bundler's `browser` condition swaps in the platform's pieces: fetch for the slice requests
 * (`#slice-request`), a table CRC-32 and a WebAssembly SHA-256 for the codec (`#codec/crc32`,
 * `#codec/sha256`). The units' buckets must allow the page's origin by CORS
 * (`custom.dsn.browserOrigins`); where one does not, its slices fail as a unit that is down.
 * `uplinkPutInWorker` runs the same dispersal in a Web Worker, so hashing and encoding a large
 * file never holds up the page.
 */
import './web-buffer.ts';
import { cancelDispersal, type UplinkResult } from './uplink.ts';
import {
  clientOf,
  receivedError,
  type UplinkJob,
  type UplinkReport,
  type WorkerConnection,
  type WorkerUplinkOptions,
} from './uplink-worker-protocol.ts';

export {
  type DownlinkOptions,
  type DownlinkStats,
  openDownlink,
  UnitsUnreachableError,
} from './downlink.ts';
export {
  cancelDispersal,
  type PendingDispersal,
  pendingDispersals,
  type UplinkOptions,
  type UplinkResult,
  uplinkPut,
} from './uplink.ts';
export type { WorkerConnection, WorkerUplinkOptions } from './uplink-worker-protocol.ts';
export { chunksOf } from './web-chunks.ts';

/**
 * From this size up the console disperses and reads on the page, as the CLI does
 * (bin/put.ts UPLINK_THRESHOLD, bin/get.ts DOWNLINK_THRESHOLD): below it, one API call costs
 * less than a dispersal's four or a window of URLs.
 */
export const CLIENT_SIDE_THRESHOLD = 8 * 1024 * 1024;

/**
 * `uplinkPut` of `file` in a Web Worker of its own (uplink-worker.ts): the page's thread does
 * not read, hash or encode a byte. The worker signs its API calls with `connection`'s
 * credentials. Aborting `signal` stops the worker at once and cancels the dispersal it opened
 * (`cancelDispersal`, from this thread) before the call rejects, unless `keepPending` asks to
 * keep it; a cancel that does not arrive leaves the revision pending, for the janitor to remove
 * as a killed client's. A `resume` reads the file at the segments' offsets to check those done.
 * @throws what uplinkPut throws (DsnApiError, UnitsUnreachableError, ...), rebuilt on this side;
 *   the signal's reason when aborted
 */
export function uplinkPutInWorker(
  connection: WorkerConnection,
  file: Blob,
  vault: string,
  key: string,
  opts: WorkerUplinkOptions & {
    onProgress?: (bytes: number) => void;
    onOpen?: (revision: string) => void;
    signal?: AbortSignal;
    /**
     * The worker's script (uplink-worker.ts, bundled for the browser), where a bundler does not
     * build it from the `new URL(..., import.meta.url)` below: a URL of this page's origin, or a
     * `blob:` URL of the script.
     */
    workerUrl?: string | URL;
  } = {},
): Promise<UplinkResult> {
  const { onProgress, onOpen, signal, workerUrl, ...options } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    // This very form (a URL relative to import.meta.url) is what bundlers (Vite, webpack, esbuild
    // with a plugin) recognise and build the worker's own bundle from.
    const worker = workerUrl
      ? new Worker(workerUrl, { type: 'module' })
      : new Worker(new URL('./uplink-worker.ts', import.meta.url), { type: 'module' });
    const end = () => {
      signal?.removeEventListener('abort', abort);
      worker.terminate();
    };
    /** The dispersal's revision, once the worker opened it. */
    let revision: string | undefined;
    const abort = () => {
      end();
      // A dispersal to keep (a resume's) stays pending, to be resumed again or cancelled.
      if (revision === undefined || options.keepPending) reject(signal?.reason);
      else
        cancelDispersal(clientOf(connection), vault, revision)
          .catch(() => undefined)
          .finally(() => reject(signal?.reason));
    };
    signal?.addEventListener('abort', abort, { once: true });
    worker.addEventListener('message', (e: MessageEvent<UplinkReport>) => {
      const r = e.data;
      if (r.type === 'open') {
        revision = r.revision;
        onOpen?.(r.revision);
      } else if (r.type === 'progress') onProgress?.(r.bytes);
      else {
        end();
        if (r.type === 'done') resolve(r.result);
        else reject(receivedError(r.error));
      }
    });
    worker.addEventListener('error', (e) => {
      end();
      reject(new Error(`the dispersal's worker failed to run: ${e.message || 'no message'}`));
    });
    const job: UplinkJob = { connection, file, vault, key, options };
    try {
      worker.postMessage(job);
    } catch (err) {
      // Something in the job cannot be copied to a worker (a function in the options, say).
      end();
      reject(err);
    }
  });
}

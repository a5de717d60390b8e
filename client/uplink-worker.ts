/**
 * The entry of a dispersal's Web Worker, started by `uplinkPutInWorker` (web-transfers.ts), one
 * per upload: it takes the one job the page sends, reads the file, hashes and encodes its
 * segments and PUTs their slices, so the page's thread does none of it.
 */
// First: the codec's modules need a Buffer when they are evaluated (imports run in order).
import './web-buffer.ts';
import { runUplinkJob, type UplinkJob } from './uplink-worker-protocol.ts';

self.addEventListener(
  'message',
  (e: MessageEvent<UplinkJob>) => {
    void runUplinkJob(e.data, (report) => self.postMessage(report));
  },
  { once: true },
);

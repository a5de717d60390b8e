/**
 * What bench:console runs inside Chromium, bundled for the browser (`browser` condition, as the
 * console's build): the console's paths for a large file, timed in the page with
 * `performance.now()`, and each upload's long tasks on the page's thread (a PerformanceObserver
 * of `longtask`: tasks over 50 ms, which hold up input and rendering). The file is made in the
 * page, so no time goes to carrying it in.
 */

import { createWebDsnClient } from '../client/web.ts';
import { chunksOf, openDownlink, uplinkPut, uplinkPutInWorker } from '../client/web-transfers.ts';
import type { Credentials } from '../shared/access/sigv4.ts';
import { codecFor } from '../shared/codec/index.ts';

export interface PageRun {
  endpoint: string;
  credentials: Credentials;
  vault: string;
  key: string;
  mib: number;
}

/** A file of random bytes (getRandomValues takes 64 KiB a call). */
function randomFile(mib: number): Blob {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (let left = mib * 1024 * 1024; left > 0; left -= 65536) {
    const part = new Uint8Array(Math.min(65536, left));
    crypto.getRandomValues(part);
    parts.push(part);
  }
  return new Blob(parts);
}

const seconds = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
};

/** A transfer's time, and the page's thread meanwhile: its longest task and its blocking time. */
export interface PageTiming {
  seconds: number;
  /** ms of the longest task over 50 ms, 0 when there was none. */
  longestTask: number;
  /** ms of all long tasks past their first 50 ms (Lighthouse's total blocking time). */
  blocking: number;
}

async function watched(f: () => Promise<unknown>): Promise<PageTiming> {
  const tasks: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) tasks.push(e.duration);
  });
  observer.observe({ type: 'longtask' });
  const t = await seconds(f);
  for (const e of observer.takeRecords()) tasks.push(e.duration);
  observer.disconnect();
  return {
    seconds: t,
    longestTask: Math.max(0, ...tasks),
    blocking: tasks.reduce((sum, d) => sum + Math.max(0, d - 50), 0),
  };
}

const files = new Map<string, Blob>();
let workerUrl = '';

const bench = {
  /** The kernel the page's codec runs: the WASM SIMD one where the engine has it. */
  kernel: () => codecFor(4, 2).kernel,
  makeFile(name: string, mib: number): void {
    files.set(name, randomFile(mib));
  },
  /** The worker's script (client/uplink-worker.ts bundled as the console's build does). */
  setWorkerScript(code: string): void {
    workerUrl = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  },
  /** The console's path: the file dispersed by a Web Worker of the page, to its commit. */
  async worker(run: PageRun, file: string): Promise<PageTiming> {
    const dsn = createWebDsnClient({ endpoint: run.endpoint, credentials: run.credentials });
    const blob = files.get(file) as Blob;
    return watched(async () => {
      const connection = { endpoint: run.endpoint, credentials: run.credentials };
      const done = await uplinkPutInWorker(connection, blob, run.vault, run.key, { workerUrl });
      if (done.state === 'pending') await dsn.waitForRevision(run.vault, done.revision);
    });
  },
  /** The same dispersal on the page's own thread, as the console ran it before the worker. */
  async uplink(run: PageRun, file: string): Promise<PageTiming> {
    const dsn = createWebDsnClient({ endpoint: run.endpoint, credentials: run.credentials });
    const blob = files.get(file) as Blob;
    return watched(async () => {
      const done = await uplinkPut(dsn, chunksOf(blob), run.vault, run.key);
      if (done.state === 'pending') await dsn.waitForRevision(run.vault, done.revision);
    });
  },
  /** The console's path for a file that cannot be dispersed: a staged upload, to its commit. */
  async staged(run: PageRun, file: string): Promise<PageTiming> {
    const dsn = createWebDsnClient({ endpoint: run.endpoint, credentials: run.credentials });
    const blob = files.get(file) as Blob;
    return watched(() => dsn.upload(run.vault, run.key, blob, { via: 'staged' }));
  },
  /** Reading the object from the buckets into a Blob, and its size. */
  async downlink(run: PageRun): Promise<PageTiming & { size: number }> {
    const dsn = createWebDsnClient({ endpoint: run.endpoint, credentials: run.credentials });
    let size = 0;
    const t = await watched(async () => {
      const read = await openDownlink(dsn, run.vault, run.key);
      const parts: Blob[] = [];
      for await (const chunk of read.body) parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
      size = new Blob(parts).size;
    });
    return { ...t, size };
  },
  /** A GET of it through the API into a Blob (the 307 to the reader's URL), and its size. */
  async apiGet(run: PageRun): Promise<PageTiming & { size: number }> {
    const dsn = createWebDsnClient({ endpoint: run.endpoint, credentials: run.credentials });
    let size = 0;
    const t = await watched(async () => {
      size = (await (await dsn.getObject(run.vault, run.key)).blob()).size;
    });
    return { ...t, size };
  },
};

export type PageBench = typeof bench;

(globalThis as unknown as { dsnBench: PageBench }).dsnBench = bench;

/**
 * What bench:console runs inside Chromium, bundled for the browser (`browser` condition, as the
 * console's build): the console's two paths for a large file, timed in the page with
 * `performance.now()`. The file is made in the page, so no time goes to carrying it in.
 */

import { createWebDsnClient } from '../client/web.ts';
import { chunksOf, openDownlink, uplinkPut } from '../client/web-transfers.ts';
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

const files = new Map<string, Blob>();

const bench = {
  /** The kernel the page's codec runs: the WASM SIMD one where the engine has it. */
  kernel: () => codecFor(4, 2).kernel,
  makeFile(name: string, mib: number): void {
    files.set(name, randomFile(mib));
  },
  /** Seconds to disperse the file from the page and see it committed. */
  async uplink(run: PageRun, file: string): Promise<number> {
    const dsn = createWebDsnClient({ endpoint: run.endpoint, credentials: run.credentials });
    const blob = files.get(file) as Blob;
    return seconds(async () => {
      const done = await uplinkPut(dsn, chunksOf(blob), run.vault, run.key);
      if (done.state === 'pending') await dsn.waitForRevision(run.vault, done.revision);
    });
  },
  /** Seconds for the console's old path: a staged upload through the API, to its commit. */
  async staged(run: PageRun, file: string): Promise<number> {
    const dsn = createWebDsnClient({ endpoint: run.endpoint, credentials: run.credentials });
    const blob = files.get(file) as Blob;
    return seconds(() => dsn.upload(run.vault, run.key, blob, { via: 'staged' }));
  },
  /** Seconds to read the object from the buckets into a Blob, and its size. */
  async downlink(run: PageRun): Promise<[number, number]> {
    const dsn = createWebDsnClient({ endpoint: run.endpoint, credentials: run.credentials });
    let size = 0;
    const t = await seconds(async () => {
      const read = await openDownlink(dsn, run.vault, run.key);
      const parts: Blob[] = [];
      for await (const chunk of read.body) parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
      size = new Blob(parts).size;
    });
    return [t, size];
  },
  /** Seconds to GET it through the API into a Blob (the 307 to the reader's URL), and its size. */
  async apiGet(run: PageRun): Promise<[number, number]> {
    const dsn = createWebDsnClient({ endpoint: run.endpoint, credentials: run.credentials });
    let size = 0;
    const t = await seconds(async () => {
      size = (await (await dsn.getObject(run.vault, run.key)).blob()).size;
    });
    return [t, size];
  },
};

export type PageBench = typeof bench;

(globalThis as unknown as { dsnBench: PageBench }).dsnBench = bench;

/**
 * bench:console: the web console's paths for a large file, run in Debian's Chromium
 * (playwright-core) against a local cloud, each timed in the page. Upload: the page disperses
 * the file itself in a Web Worker (client/web-transfers.ts `uplinkPutInWorker`: the codec's WASM,
 * slices straight into the units' buckets), and the same dispersal on the page's own thread,
 * against a staged upload through the API, all to the commit, with the long tasks each leaves
 * on the page's thread. Download: the page reads the slices from the buckets (the downlink)
 * against a GET through the API (its 307 to the reader's function URL). Rounds alternate the
 * order of each pair; figures are medians. The script runs in the console's own page, on the
 * API's origin.
 *
 *   npm run bench:console            # DSN_BENCH_CONSOLE_MIB (64), DSN_BENCH_CONSOLE_ROUNDS (3)
 */
import { existsSync } from 'node:fs';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { TEST_ROOT } from '../test/helpers/local-cloud.ts';
import type { PageBench, PageRun, PageTiming } from './console-page.ts';
import { dropPageCache } from './dsn-uplink.ts';
import { benchInt } from './env.ts';
import { startBenchCloud } from './local-cloud.ts';
import { median } from './stats.ts';

const CHROMIUM = process.env.DSN_CHROMIUM ?? '/usr/bin/chromium';
const MIB = benchInt('DSN_BENCH_CONSOLE_MIB', 64, 9);
const ROUNDS = benchInt('DSN_BENCH_CONSOLE_ROUNDS', 3, 1);

if (!existsSync(CHROMIUM)) {
  console.error(`bench:console needs Chromium at ${CHROMIUM} (apt-get install chromium)`);
  process.exit(2);
}

/** One entry bundled for the page, with the `browser` condition as the console's build. */
const bundled = async (entry: string) =>
  (
    await build({
      entryPoints: [new URL(entry, import.meta.url).pathname],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      conditions: ['browser'],
      target: 'es2023',
      logLevel: 'warning',
    })
  ).outputFiles[0]?.text ?? '';
const bundle = await bundled('./console-page.ts');
const workerScript = await bundled('../client/uplink-worker.ts');

const bench = await startBenchCloud('dsn-bench-console');
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox'],
});
try {
  const { cloud, api } = bench;
  const created = await api('/vaults', {
    method: 'POST',
    body: JSON.stringify({ name: 'web', width: 6, readThreshold: 4, writeThreshold: 5 }),
  });
  if (created.status !== 201) throw new Error(`vault: ${created.status} ${await created.text()}`);
  // The console's own document, as the cloud serves it from loopback (so the page is in the
  // same address space as the buckets, as a person's is), with the bench's script added to it.
  const page = await browser.newPage({ bypassCSP: true });
  const origin = cloud.endpoints.api;
  await page.goto(`${origin}/console`);
  await page.addScriptTag({ content: bundle, type: 'module' });
  await page.waitForFunction(() => 'dsnBench' in globalThis);
  const call = <K extends keyof PageBench>(name: K, ...args: Parameters<PageBench[K]>) =>
    page.evaluate(
      ([n, a]) =>
        (
          (globalThis as unknown as { dsnBench: Record<string, (...x: unknown[]) => unknown> })
            .dsnBench[n as string] as (...x: unknown[]) => unknown
        )(...(a as unknown[])),
      [name, args] as const,
    ) as Promise<Awaited<ReturnType<PageBench[K]>>>;
  const run = (key: string): PageRun => ({
    endpoint: origin,
    credentials: TEST_ROOT,
    vault: 'web',
    key,
    mib: MIB,
  });
  const kernel = await call('kernel');
  await call('makeFile', 'file', MIB);
  await call('setWorkerScript', workerScript);
  // One untimed round of each: the page's JIT and the functions' sandboxes warm up.
  await call('worker', run('warm/worker'), 'file');
  await call('uplink', run('warm/page'), 'file');
  await call('staged', run('warm/staged'), 'file');

  const up: Array<Record<'worker' | 'page' | 'staged', PageTiming>> = [];
  const down: Array<Record<'page' | 'api', PageTiming>> = [];
  const bytes = MIB * 1024 * 1024;
  for (let i = 0; i < ROUNDS; i++) {
    const upload = async (path: 'worker' | 'uplink' | 'staged') => {
      await dropPageCache();
      return call(path, run(`${path}/${i}`), 'file');
    };
    const read = async (path: 'downlink' | 'apiGet') => {
      await dropPageCache();
      const r = await call(path, run(`worker/${i}`));
      if (r.size !== bytes) throw new Error(`${path} read ${r.size} bytes of ${bytes}`);
      return r;
    };
    if (i % 2 === 0) {
      const worker = await upload('worker');
      const page = await upload('uplink');
      up.push({ worker, page, staged: await upload('staged') });
      const d = await read('downlink');
      down.push({ page: d, api: await read('apiGet') });
    } else {
      const staged = await upload('staged');
      const page = await upload('uplink');
      up.push({ worker: await upload('worker'), page, staged });
      const a = await read('apiGet');
      down.push({ page: await read('downlink'), api: a });
    }
  }
  const mbps = (s: number) => `${(bytes / 1e6 / s).toFixed(0)} MB/s (${s.toFixed(1)} s)`;
  const version = browser.version();
  console.log(
    `\nthe web console's paths in Chromium ${version} (headless), ${MIB} MiB of random bytes made in the page, local cloud (fauxqs, dynalite); vault 4-of-6, T = 5, 8 MiB segments; the page's codec kernel: ${kernel}; median of ${ROUNDS} rounds, page cache emptied before each run\n`,
  );
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  /** One table: each path's speed, its ratio to the peer's, and the page's thread meanwhile. */
  const table = <P extends string>(
    what: string,
    runs: Array<Record<P, PageTiming>>,
    peer: P,
    paths: ReadonlyArray<readonly [P, string]>,
  ) => {
    const peerTime = median(runs.map((r) => r[peer].seconds));
    console.log(
      `| ${what} | speed | ratio to the peer | the page's thread meanwhile: longest task | total blocking time (long tasks past 50 ms) |`,
    );
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const [path, label] of paths) {
      const timings = runs.map((r) => r[path]);
      const t = median(timings.map((r) => r.seconds));
      console.log(
        `| ${label} | ${mbps(t)} | ${(peerTime / t).toFixed(2)}x | ${ms(median(timings.map((r) => r.longestTask)))} | ${ms(median(timings.map((r) => r.blocking)))} |`,
      );
    }
  };
  table('upload to commit', up, 'staged', [
    ['worker', "dispersed by the page's Web Worker (the console's path)"],
    ['page', "dispersed on the page's own thread"],
    ['staged', 'peer: staged upload through the API (4 MiB parts), then the disperser'],
  ]);
  console.log('');
  table('download into a Blob', down, 'api', [
    ['page', "read by the page from the units' buckets (the console's path)"],
    ['api', 'peer: GET through the API (307 to the reader function URL)'],
  ]);
} finally {
  await browser.close();
  await bench.stop();
}

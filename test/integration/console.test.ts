/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core, against a
 * local cloud. A person signs in with a key, uploads a file, sees it listed, opens its slice
 * map, injects a unit fault and sees the grid and the map change, then starts a rebuild and
 * watches it reach done. `.ci/run` installs Chromium; without it the test skips, saying why.
 * With DSN_CONSOLE_SCREENSHOTS=DIR it keeps a screenshot of each main view there (the README's).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
} from '@aws-sdk/client-s3';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildConsole, CONSOLE_DIST } from '../../infra/build-console.ts';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
  cloudClients,
  fetchAs,
  PROJECT_ROOT,
  startTestCloud,
  TEST_ROOT,
  tempDir,
} from '../helpers/local-cloud.ts';

const CHROMIUM = process.env.DSN_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.DSN_CONSOLE_SCREENSHOTS;
const UNITS = [0, 1, 2, 3, 4];
const FAULTED = 2;

describe('the web console in Chromium', {
  skip: existsSync(CHROMIUM)
    ? false
    : `no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`,
}, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let passed = false;
  const shot = async (name: string) => {
    if (!SCREENSHOTS) return;
    await mkdir(resolve(SCREENSHOTS), { recursive: true });
    await page.screenshot({ path: join(resolve(SCREENSHOTS), `${name}.png`), fullPage: true });
  };

  /** Signs `tab` in with the root key, unless it already has (each test may run alone). */
  const signIn = async (tab: Page = page) => {
    await tab.goto(`${cloud.endpoints.api}/console`);
    const form = tab.locator('input[name=accessKeyId]');
    const vaults = tab.locator('[data-testid=vaults] tr[data-vault=web]');
    await Promise.race([form.waitFor(), vaults.waitFor()]);
    if (await form.isVisible()) {
      await form.fill(TEST_ROOT.accessKeyId);
      await tab.fill('input[name=secretAccessKey]', TEST_ROOT.secretAccessKey);
      await tab.click('button[type=submit]');
    }
    await vaults.waitFor();
  };

  before(async () => {
    if (!existsSync(join(CONSOLE_DIST, 'index.html'))) await buildConsole();
    dir = await tempDir('dsn-console');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    const created = await fetchAs(TEST_ROOT)(`${cloud.endpoints.api}/vaults`, {
      method: 'POST',
      body: JSON.stringify({
        name: 'web',
        width: 5,
        readThreshold: 3,
        writeThreshold: 4,
        segmentSize: 64 * 1024,
        units: UNITS,
      }),
    });
    assert.equal(created.status, 201, await created.text());
    // 1 MiB segments, for the files the page disperses itself (8 MiB and more).
    const big = await fetchAs(TEST_ROOT)(`${cloud.endpoints.api}/vaults`, {
      method: 'POST',
      body: JSON.stringify({
        name: 'big',
        width: 5,
        readThreshold: 3,
        writeThreshold: 4,
        segmentSize: 1024 * 1024,
        units: UNITS,
      }),
    });
    assert.equal(big.status, 201, await big.text());
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // What the page logs and fails at ends up in the test's diagnostics when it fails.
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => pageErrors.push(`page: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) pageErrors.push(`${r.request().method()} ${r.url()} -> ${r.status()}`);
    });
    page.setDefaultTimeout(60_000);
  });

  after(async () => {
    if (!passed && pageErrors.length > 0)
      process.stderr.write(`page errors:\n${pageErrors.join('\n')}\n`);
    await browser?.close();
    await cloud?.stop();
    await dir?.remove();
  });

  test('sign in, upload, list, slice map, a unit fault seen in the grid and the map, a rebuild to done', async () => {
    await signIn();
    assert.deepEqual(
      await page.locator('[data-testid=vaults] tr[data-vault=web] td').allInnerTexts(),
      ['web', '3', '5', '4', '64 KiB', UNITS.join(', ')],
    );
    await shot('vaults');

    // Upload a file of four segments into a folder, and see it listed there.
    await page.goto(`${cloud.endpoints.api}/console#/objects/web/photos/`);
    const body = randomBytes(4 * 64 * 1024 - 100);
    await page.setInputFiles('[data-testid=upload-input]', {
      name: 'cat.bin',
      mimeType: 'application/octet-stream',
      buffer: body,
    });
    await page
      .locator('[data-testid=upload-message]', { hasText: 'uploaded photos/cat.bin' })
      .waitFor();
    const row = page.locator('[data-testid=objects] tr[data-key="photos/cat.bin"]');
    await row.waitFor();
    assert.match(await row.innerText(), /cat\.bin\s+256 KiB/);
    const stored = await fetchAs(TEST_ROOT)(
      `${cloud.endpoints.api}/vaults/web/objects/photos/cat.bin`,
    );
    assert.deepEqual(
      Buffer.from(await stored.arrayBuffer()),
      body,
      'the bytes uploaded are the bytes stored',
    );
    await shot('objects');

    // Its slice map: 4 segments by 5 pillars, all good.
    await row.locator('a', { hasText: 'slice map' }).click();
    await page.locator('[data-testid=verdict]', { hasText: 'healthy' }).waitFor();
    const cells = page.locator('[data-testid=slice-map] td.slice');
    assert.equal(await cells.count(), 4 * 5);
    assert.deepEqual(
      new Set(await cells.evaluateAll((tds) => tds.map((td) => td.getAttribute('data-state')))),
      new Set(['good']),
    );
    await shot('slice-map');

    // Inject read-fail on one of the vault's units from the grid: its card turns to a fault ...
    await page.goto(`${cloud.endpoints.api}/console#/units`);
    await page.selectOption('[data-testid=fault-mode]', 'read-fail');
    const card = page.locator(`[data-testid=unit-grid] [data-unit="${FAULTED}"]`);
    await card.locator('button', { hasText: 'inject read-fail' }).click();
    await page
      .locator(`[data-testid=unit-grid] [data-unit="${FAULTED}"][data-state=fault]`)
      .waitFor();
    assert.match(await card.innerText(), /fault: read-fail/);
    await shot('units');

    // ... and the slice map shows that unit's pillar unreadable, the object degraded.
    await page.goto(`${cloud.endpoints.api}/console#/slices/web/photos/cat.bin`);
    await page.locator('[data-testid=verdict]', { hasText: 'degraded' }).waitFor();
    const states = await page
      .locator('[data-testid=slice-map] tr[data-segment]')
      .evaluateAll((rows) =>
        rows.map((r) =>
          Array.from(r.querySelectorAll('td.slice'), (td) => td.getAttribute('data-state')),
        ),
      );
    const pillar = UNITS.indexOf(FAULTED);
    for (const segment of states) {
      assert.equal(segment[pillar], 'unreadable');
      assert.deepEqual(
        segment.filter((_s, i) => i !== pillar),
        ['good', 'good', 'good', 'good'],
      );
    }
    await shot('slice-map-degraded');

    // Clear the fault, then start a rebuild from the jobs view and watch it reach done.
    await page.goto(`${cloud.endpoints.api}/console#/units`);
    await card.locator('button', { hasText: 'clear fault' }).click();
    await page.locator(`[data-testid=unit-grid] [data-unit="${FAULTED}"][data-state=up]`).waitFor();
    await page.goto(`${cloud.endpoints.api}/console#/jobs`);
    const job = page.locator('[data-testid=rebuilds] tr[data-vault=web]');
    await job.locator('[data-testid=start-rebuild]').click();
    await page
      .locator('[data-testid=rebuilds] tr[data-vault=web][data-state=done]')
      .waitFor({ timeout: 120_000 });
    assert.match(await job.innerText(), /done \(done\)\s+4\/4 segments/);
    await shot('jobs');
    passed = true;
  });

  test("a large file is dispersed by the page's worker straight into the units' buckets and read back from them", async () => {
    passed = false;
    // What the page sends where: slices to the S3 endpoint (another origin), calls to the API;
    // and the workers it starts (a dedicated worker's requests are the page's here too).
    const s3Origin = new URL(cloud.endpoints.s3).origin;
    const sent: Array<{ method: string; url: string }> = [];
    const onRequest = (r: import('playwright-core').Request) =>
      sent.push({ method: r.method(), url: r.url() });
    const workers: string[] = [];
    const onWorker = (w: import('playwright-core').Worker) => workers.push(w.url());
    page.on('request', onRequest);
    page.on('worker', onWorker);
    try {
      await signIn();
      await page.goto(`${cloud.endpoints.api}/console#/objects/big/`);
      // Nine segments and a short tenth: past the console's 8 MiB threshold.
      const body = randomBytes(9 * 1024 * 1024 + 12_345);
      await page.setInputFiles('[data-testid=upload-input]', {
        name: 'film.bin',
        mimeType: 'video/mp4',
        buffer: body,
      });
      await page
        .locator('[data-testid=upload-message]', {
          hasText: 'uploaded film.bin (9.0 MiB) by dispersal on this page',
        })
        .waitFor();
      assert.equal(workers.length, 1, 'one worker for the upload');
      assert.match(workers[0] as string, /\/console\/assets\/uplink-worker-[\w-]+\.js$/);
      const slicePuts = sent.filter((r) => r.method === 'PUT' && r.url.startsWith(s3Origin));
      assert.equal(slicePuts.length, 10 * 5, 'every slice of every segment, once, to its bucket');
      assert.ok(
        slicePuts.every((r) => /X-Amz-Signature=/.test(r.url)),
        'by presigned URL',
      );
      assert.equal(
        sent.filter((r) => r.url.includes('/uploads')).length,
        0,
        'no staged upload through the API',
      );
      const head = await fetchAs(TEST_ROOT)(`${cloud.endpoints.api}/vaults/big/objects/film.bin`, {
        method: 'HEAD',
      });
      assert.equal(head.headers.get('content-type'), 'video/mp4');
      const stored = await fetchAs(TEST_ROOT)(`${cloud.endpoints.api}/vaults/big/objects/film.bin`);
      assert.deepEqual(Buffer.from(await stored.arrayBuffer()), body, 'stored exact');

      // Download: the page reads the data slices from the buckets and hands over a file.
      sent.length = 0;
      const row = page.locator('[data-testid=objects] tr[data-key="film.bin"]');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        row.locator('button', { hasText: 'download' }).click(),
      ]);
      const saved = join(dir.path, 'downloaded.bin');
      await download.saveAs(saved);
      assert.deepEqual(await readFile(saved), body, 'downloaded exact');
      const said = page.locator('[data-testid=upload-message]', { hasText: 'downloaded' });
      await said.waitFor();
      assert.equal(
        await said.innerText(),
        "downloaded film.bin (9.0 MiB) from the units' buckets: 10 segments from home units, 0 from edge copies",
      );
      const sliceGets = sent.filter((r) => r.method === 'GET' && r.url.startsWith(s3Origin));
      assert.equal(sliceGets.length, 10 * 3, 'the three data slices of each segment');
      assert.equal(
        sent.filter((r) => r.url.startsWith(`${cloud.endpoints.api}/vaults/big/objects/`)).length,
        0,
        'no byte through the API',
      );
    } finally {
      page.off('request', onRequest);
      page.off('worker', onWorker);
    }
    passed = true;
  });

  test('transfers under way are cancelled from the page: a download hands over nothing, a dispersal stops its worker, is cancelled and commits nothing', async () => {
    passed = false;
    const s3Origin = new URL(cloud.endpoints.s3).origin;
    await signIn();
    await page.goto(`${cloud.endpoints.api}/console#/objects/big/`);
    await page.setInputFiles('[data-testid=upload-input]', {
      name: 'kept.bin',
      mimeType: 'application/octet-stream',
      buffer: randomBytes(9 * 1024 * 1024),
    });
    await page.locator('[data-testid=upload-message]', { hasText: 'uploaded kept.bin' }).waitFor();
    // From here the slice requests are held, unanswered, so each transfer is surely under way
    // at the click.
    let held = 0;
    let heldNow: () => void = () => {};
    const nextHeld = () =>
      new Promise<void>((resolve) => {
        heldNow = resolve;
      });
    await page.route(`${s3Origin}/**`, () => {
      held++;
      heldNow();
    });
    const handedOver: string[] = [];
    const onDownload = (d: import('playwright-core').Download) =>
      handedOver.push(d.suggestedFilename());
    page.on('download', onDownload);
    try {
      let holding = nextHeld();
      await page
        .locator('[data-testid=objects] tr[data-key="kept.bin"]')
        .locator('button', { hasText: 'download' })
        .click();
      await holding;
      await page.locator('[data-testid=transfer-cancel]').click();
      await page
        .locator('[data-testid=upload-message]', { hasText: 'download of kept.bin cancelled' })
        .waitFor();
      assert.deepEqual(handedOver, [], 'no file handed over');

      holding = nextHeld();
      const started = page.waitForEvent('worker');
      await page.setInputFiles('[data-testid=upload-input]', {
        name: 'cancelled.bin',
        mimeType: 'application/octet-stream',
        buffer: randomBytes(9 * 1024 * 1024),
      });
      const worker = await started;
      const closed = new Promise<void>((resolve) => worker.once('close', () => resolve()));
      const cancelledBy = page.waitForResponse(
        (r) => r.request().method() === 'DELETE' && r.url().includes('/vaults/big/dispersals/'),
      );
      await holding;
      await page.locator('[data-testid=transfer-cancel]').click();
      await closed;
      // The page cancels the dispersal itself: failed at once, not at the pending timeout.
      const cancel = (await (await cancelledBy).json()) as { revision: string; state: string };
      const revision = (await (
        await fetchAs(TEST_ROOT)(`${cloud.endpoints.api}/vaults/big/revisions/${cancel.revision}`)
      ).json()) as { state: string; reason?: string };
      assert.deepEqual(
        [cancel.state, revision.state, revision.reason],
        ['failed', 'failed', 'cancelled by its writer'],
      );
      const said = page.locator('[data-testid=upload-message]', { hasText: 'cancelled.bin' });
      await said.waitFor();
      assert.equal(
        await said.innerText(),
        'upload of cancelled.bin cancelled: nothing was committed, and the janitor removes the slices placed',
      );
      assert.ok(held > 0, 'slice requests were in flight');
      assert.equal(await page.locator('[data-testid=transfer-progress]').count(), 0);
      const head = await fetchAs(TEST_ROOT)(
        `${cloud.endpoints.api}/vaults/big/objects/cancelled.bin`,
        { method: 'HEAD' },
      );
      assert.equal(head.status, 404);
      assert.equal(
        await page.locator('[data-testid=upload-input]').isEnabled(),
        true,
        'the next upload may start',
      );
    } finally {
      page.off('download', onDownload);
      await page.unrouteAll({ behavior: 'ignoreErrors' });
    }
    passed = true;
  });

  test('an upload a closed tab left pending is resumed from its file (only the segments not done are sent), refused from another file, stopped, or discarded', async () => {
    passed = false;
    const s3Origin = new URL(cloud.endpoints.s3).origin;
    const api = fetchAs(TEST_ROOT);
    const dispersal = async (revision: string) =>
      (await (await api(`${cloud.endpoints.api}/vaults/big/dispersals/${revision}`)).json()) as {
        state: string;
        segmentsDone: Array<{ segment: number }>;
      };
    /**
     * In a tab of its own, starts the upload of `body` (ten segments) as `name`, holds the slice
     * PUTs of segments 0, 1, 8 and 9 unanswered and lets the others' through; once the API has
     * segments 2 to 7 done (three batches of two, while the first waits), closes the tab, which
     * stops its worker with no cancel sent. Segments not done before done ones are what a resume
     * must not hold back: the page reads the done ones from the file at their offsets.
     */
    const closedMidway = async (name: string, body: Buffer) => {
      const tab = await browser.newPage();
      try {
        await signIn(tab);
        await tab.route(`${s3Origin}/**`, (route) => {
          const segment = /\/(\d{10})\/\d{3}\?/.exec(route.request().url())?.[1];
          const at = Number(segment);
          if (route.request().method() !== 'PUT' || (at >= 2 && at <= 7)) void route.continue();
        });
        await tab.goto(`${cloud.endpoints.api}/console#/objects/big/`);
        const opened = tab.waitForResponse(
          (r) => r.request().method() === 'POST' && r.url().endsWith('/vaults/big/dispersals'),
        );
        await tab.setInputFiles('[data-testid=upload-input]', {
          name,
          mimeType: 'application/octet-stream',
          buffer: body,
        });
        const { revision } = (await (await opened).json()) as { revision: string };
        const deadline = Date.now() + 60_000;
        while ((await dispersal(revision)).segmentsDone.length < 6) {
          assert.ok(Date.now() < deadline, 'the three batches let through are announced');
          await new Promise((r) => setTimeout(r, 100));
        }
        return revision;
      } finally {
        await tab.close();
      }
    };
    const sent: string[] = [];
    const onRequest = (r: import('playwright-core').Request) => {
      if (r.method() === 'PUT' && r.url().startsWith(s3Origin)) sent.push(r.url());
    };
    page.on('request', onRequest);
    try {
      const body = randomBytes(9 * 1024 * 1024 + 777);
      const revision = await closedMidway('paused.bin', body);
      assert.equal(
        (await dispersal(revision)).state,
        'pending',
        'the closed tab cancelled nothing',
      );

      await signIn();
      await page.goto(`${cloud.endpoints.api}/console#/objects/big/`);
      await page.reload();
      const row = page.locator(`[data-testid=unfinished] tr[data-revision="${revision}"]`);
      await row.waitFor();
      assert.match(await row.innerText(), /^paused\.bin\s/);

      // Another file of the same size: refused before any slice is sent, still pending.
      const said = page.locator('[data-testid=upload-message]');
      page.once('dialog', (d) => void d.accept()); // "a file of another name?"
      await row.locator('[data-testid=resume-input]').setInputFiles({
        name: 'other.bin',
        mimeType: 'application/octet-stream',
        buffer: randomBytes(body.length),
      });
      await said.filter({ hasText: 'other.bin' }).waitFor();
      assert.equal(
        await said.innerText(),
        'other.bin is not the file paused.bin began with (its segment 2 differs from the one placed): nothing was sent, and it stays pending, to be resumed again before its timeout, or discarded',
      );
      assert.deepEqual(sent, [], 'no slice sent from the wrong file');
      assert.equal((await dispersal(revision)).state, 'pending');

      // The file it began with, stopped mid-way (its slices held): it stays pending.
      let holding: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        holding = resolve;
      });
      await page.route(`${s3Origin}/**`, () => holding());
      await row.locator('[data-testid=resume-input]').setInputFiles({
        name: 'paused.bin',
        mimeType: 'application/octet-stream',
        buffer: body,
      });
      await held;
      await page.locator('[data-testid=transfer-cancel]').click();
      await said.filter({ hasText: 'stopped' }).waitFor();
      assert.equal(
        await said.innerText(),
        'resume of paused.bin stopped: it stays pending, to be resumed again before its timeout, or discarded',
      );
      assert.equal(
        (await dispersal(revision)).state,
        'pending',
        'a stopped resume cancels nothing',
      );
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      sent.length = 0;

      // Again, to the end: the four segments not done are placed, and it commits.
      await row.locator('[data-testid=resume-input]').setInputFiles({
        name: 'paused.bin',
        mimeType: 'application/octet-stream',
        buffer: body,
      });
      await said.filter({ hasText: 'resumed' }).waitFor();
      assert.equal(
        await said.innerText(),
        'resumed paused.bin (9.0 MiB) from paused.bin: 6 of 10 segments were done before, the others placed now',
      );
      assert.equal(sent.length, 4 * 5, 'the slices of the segments not done, once each');
      const stored = await api(`${cloud.endpoints.api}/vaults/big/objects/paused.bin`);
      assert.deepEqual(Buffer.from(await stored.arrayBuffer()), body, 'stored exact');
      await row.waitFor({ state: 'detached' });
      await page.locator('[data-testid=objects] tr[data-key="paused.bin"]').waitFor();

      // Another left pending, discarded: cancelled, nothing committed.
      const dropped = await closedMidway('dropped.bin', randomBytes(9 * 1024 * 1024));
      await page.reload();
      const droppedRow = page.locator(`[data-testid=unfinished] tr[data-revision="${dropped}"]`);
      page.once('dialog', (d) => void d.accept());
      await droppedRow.locator('[data-testid=discard]').click();
      await said.filter({ hasText: 'dropped.bin' }).waitFor();
      assert.equal(
        await said.innerText(),
        'discarded the unfinished upload of dropped.bin: nothing of it commits, and the janitor removes the slices placed',
      );
      await droppedRow.waitFor({ state: 'detached' });
      const revision2 = (await (
        await api(`${cloud.endpoints.api}/vaults/big/revisions/${dropped}`)
      ).json()) as { state: string; reason?: string };
      assert.deepEqual([revision2.state, revision2.reason], ['failed', 'cancelled by its writer']);
      const head = await api(`${cloud.endpoints.api}/vaults/big/objects/dropped.bin`, {
        method: 'HEAD',
      });
      assert.equal(head.status, 404);
    } finally {
      page.off('request', onRequest);
      await page.unrouteAll({ behavior: 'ignoreErrors' });
    }
    passed = true;
  });

  test("a large file takes the API's path when the units' buckets do not answer the page (no CORS rule for it)", async () => {
    passed = false;
    const clients = cloudClients(cloud);
    const buckets = UNITS.map((u) => cloud.stack.resources.get(`Unit${u}Bucket`)?.ref as string);
    const rules = await Promise.all(
      buckets.map(async (Bucket) => ({
        Bucket,
        CORSRules: (await clients.s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules,
      })),
    );
    for (const Bucket of buckets) await clients.s3.send(new DeleteBucketCorsCommand({ Bucket }));
    try {
      await signIn();
      await page.goto(`${cloud.endpoints.api}/console#/objects/big/`);
      const body = randomBytes(8 * 1024 * 1024 + 1);
      await page.setInputFiles('[data-testid=upload-input]', {
        name: 'far.bin',
        mimeType: 'application/octet-stream',
        buffer: body,
      });
      const uploaded = page.locator('[data-testid=upload-message]', { hasText: 'far.bin' });
      await uploaded.waitFor();
      assert.match(
        await uploaded.innerText(),
        /^uploaded far\.bin \(8\.0 MiB\) through the API \(no unit's bucket answered this client \(.+\)\)$/,
      );
      const stored = await fetchAs(TEST_ROOT)(`${cloud.endpoints.api}/vaults/big/objects/far.bin`);
      assert.deepEqual(Buffer.from(await stored.arrayBuffer()), body, 'stored exact');

      const row = page.locator('[data-testid=objects] tr[data-key="far.bin"]');
      const download = page.waitForEvent('download');
      download.catch(() => {}); // a failed download is reported by the message below
      await row.locator('button', { hasText: 'download' }).click();
      const said = page.locator('[data-testid=upload-message]', { hasText: 'download' });
      await said.waitFor();
      assert.match(
        await said.innerText(),
        /^downloaded far\.bin \(8\.0 MiB\) through the API \(no unit's bucket answered this client \(.+\)\)$/,
      );
      const saved = join(dir.path, 'far.bin');
      await (await download).saveAs(saved);
      assert.deepEqual(await readFile(saved), body, 'downloaded exact');
    } finally {
      for (const { Bucket, CORSRules } of rules)
        await clients.s3.send(
          new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules } }),
        );
      clients.destroy();
    }
    passed = true;
  });
});

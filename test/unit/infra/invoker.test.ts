import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { BACKGROUND_NICE, Invoker, LambdaInvocationError } from '../../../infra/local/invoker.ts';
import type { ServiceFunction } from '../../../infra/local/service.ts';

let dir: string;

/** A function whose handler waits `event.ms` and returns the event. */
function fn(key: string, background = false): ServiceFunction {
  return {
    key,
    name: `test-${key}`,
    modulePath: join(dir, 'wait.mjs'),
    exportName: 'handler',
    timeoutSeconds: 60,
    memorySize: 128,
    environment: {},
    events: [],
    background,
  };
}

function invoker(...keys: string[]): Invoker {
  return invokerOf(keys.map((key) => fn(key)));
}

function invokerOf(functions: ServiceFunction[], lambdaHeaps = false): Invoker {
  return new Invoker(functions, {
    region: 'us-east-1',
    accountId: '000000000000',
    environmentFor: () => ({}),
    lambdaHeaps,
  });
}

/** How `promise` settled, or 'pending' if it had not within `ms`. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  const outcome = promise.then(
    () => 'resolved',
    (err: Error) => `rejected ${err.name}`,
  );
  try {
    return await Promise.race([outcome, pending]);
  } finally {
    clearTimeout(timer);
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dsn-invoker-'));
  await writeFile(
    join(dir, 'wait.mjs'),
    'export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return event; };\n',
  );
  // Waits `event.ms`, then reports its environment's MARK and its thread's id.
  await writeFile(
    join(dir, 'env.mjs'),
    [
      "import { threadId } from 'node:worker_threads';",
      'export const handler = async (event) => {',
      '  await new Promise((r) => setTimeout(r, event.ms));',
      '  return { mark: process.env.MARK ?? null, thread: threadId };',
      '};',
      '',
    ].join('\n'),
  );
  // Returns what the runtime sends as JSON, or a result just past Lambda's 6 MB.
  await writeFile(
    join(dir, 'result.mjs'),
    [
      'export const handler = async (event) => event.big',
      "  ? { body: 'x'.repeat(6_291_556) }",
      "  : { bytes: Buffer.from('hi'), at: new Date(0), gone: undefined, n: 1 };",
      '',
    ].join('\n'),
  );
  // Reports the nice value of the thread it runs on (Linux keeps one per thread).
  await writeFile(
    join(dir, 'nice.mjs'),
    "import { getPriority } from 'node:os';\nexport const handler = async () => getPriority();\n",
  );
  // Reports its heap's limit, or, asked to, keeps allocating until it has none left.
  await writeFile(
    join(dir, 'heap.mjs'),
    [
      "import { getHeapStatistics } from 'node:v8';",
      'export const handler = async (event) => {',
      '  const keep = [];',
      '  while (event.hog) keep.push(new Array(100_000).fill(keep.length));',
      '  return getHeapStatistics().heap_size_limit;',
      '};',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('an invocation whose execution environment is terminated while it starts fails, and does not hang', async () => {
  // Prepare: a cold function, so the invocation waits for its worker to load.
  const local = invoker('cold');

  // Act: stop before the worker can have loaded the handler.
  const invocation = local.invoke('cold', { ms: 0 });
  await local.stop();

  // Assess
  assert.equal(await settledWithin(invocation, 5000), 'rejected Runtime.ExitError');
});

test('a stop reports the invocations it cut short by function, and lets none start after it', async () => {
  // Prepare: one long invocation of each of two functions, one short one that finishes.
  const local = invoker('slow', 'other');
  await local.invoke('slow', { ms: 0 }); // warm, so the next invocations run at once
  await local.invoke('other', { ms: 0 });
  const slow = local.invoke('slow', { ms: 60_000 }).catch((err: Error) => err);
  const other = local.invoke('other', { ms: 60_000 }).catch((err: Error) => err);
  const done = local.invoke('slow', { ms: 0 });
  await done;

  // Act
  local.drain();
  const refused = await local.invoke('other', { ms: 0 }).catch((err: Error) => err);
  const inFlight = local.inFlight();
  const cut = await local.stop();

  // Assess
  assert.deepEqual(inFlight, { slow: 1, other: 1 });
  assert.deepEqual(cut, { slow: 1, other: 1 });
  assert.ok(refused instanceof LambdaInvocationError);
  assert.equal(refused.name, 'Runtime.Stopped');
  for (const invocation of [slow, other]) {
    const err = await invocation;
    assert.ok(err instanceof LambdaInvocationError);
    assert.match(err.message, /the local cloud stopped during this invocation/);
  }
});

test('configure sets and removes environment variables for the invocations after it, as UpdateFunctionConfiguration does; one in flight ends where it is', async () => {
  // Prepare: a warm sandbox, and one invocation in flight when the configuration changes.
  const local = invokerOf([{ ...fn('env'), modulePath: join(dir, 'env.mjs') }]);
  type Seen = { mark: string | null; thread: number };
  try {
    const warm = (await local.invoke('env', { ms: 0 })) as Seen;
    const inFlight = local.invoke('env', { ms: 300 }) as Promise<Seen>;

    // Act
    local.configure('env', { MARK: 'slow' });
    const after = (await local.invoke('env', { ms: 0 })) as Seen;
    const during = await inFlight;
    const again = (await local.invoke('env', { ms: 0 })) as Seen;
    local.configure('env', { MARK: undefined });
    const cleared = (await local.invoke('env', { ms: 0 })) as Seen;

    // Assess: the old sandboxes are retired, never reused with the old environment.
    assert.equal(warm.mark, null);
    assert.equal(during.mark, null);
    assert.equal(after.mark, 'slow');
    assert.equal(again.mark, 'slow');
    assert.equal(cleared.mark, null);
    assert.ok(![warm.thread, during.thread].includes(again.thread));
    assert.ok(![warm.thread, during.thread, after.thread].includes(cleared.thread));
    assert.throws(() => local.configure('nope', {}), /no function nope/);
  } finally {
    await local.stop();
  }
});

test('settled waits for the invocations in flight, and only for them', async () => {
  // Prepare
  const local = invoker('short');
  await local.settled(); // nothing in flight: at once

  // Act
  const invocation = local.invoke('short', { ms: 100 });
  await new Promise((resolve) => setImmediate(resolve)); // it has taken an environment
  const before = local.inFlight();
  const whenSettled = await local.settled().then(() => local.inFlight());
  const result = await invocation;
  await local.stop();

  // Assess
  assert.deepEqual(before, { short: 1 });
  assert.deepEqual(whenSettled, { short: 0 });
  assert.deepEqual(result, { ms: 100 });
});

test('a background function runs on threads of a lower CPU priority; the others, and the process, do not', {
  skip: process.platform === 'linux' ? false : 'nice is per thread on Linux only',
}, async () => {
  // Prepare
  const niceFn = (key: string, background: boolean) => ({
    ...fn(key, background),
    modulePath: join(dir, 'nice.mjs'),
  });
  const local = invokerOf([niceFn('sweep', true), niceFn('serve', false)]);

  // Act
  const [sweep, serve] = await Promise.all([local.invoke('sweep', {}), local.invoke('serve', {})]);
  await local.stop();

  // Assess
  assert.equal(sweep, BACKGROUND_NICE);
  assert.equal(serve, 0);
  assert.equal(getPriority(), 0, 'the local cloud process itself keeps its priority');
});

/** The heap limit of a node process started as Lambda's Node.js runtime starts it for `memorySize`. */
async function lambdaNodeHeapLimit(memorySize: number): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    `--max-semi-space-size=${Math.floor(memorySize / 20)}`,
    `--max-old-space-size=${memorySize - Math.floor(memorySize / 10)}`,
    '-p',
    "require('node:v8').getHeapStatistics().heap_size_limit",
  ]);
  return Number(stdout.trim());
}

test("with Lambda's heaps, a function's heap is as large as Lambda's Node.js runtime makes it for its memory size", async () => {
  // Prepare
  const heapFn = (key: string, memorySize: number) => ({
    ...fn(key),
    memorySize,
    modulePath: join(dir, 'heap.mjs'),
  });
  const local = invokerOf([heapFn('small', 128), heapFn('large', 1024)], true);

  // Act
  const [small, large] = await Promise.all([local.invoke('small', {}), local.invoke('large', {})]);
  await local.stop();

  // Assess: what node reports under the flags of Lambda's bootstrap for the same memory.
  assert.equal(small, await lambdaNodeHeapLimit(128));
  assert.equal(large, await lambdaNodeHeapLimit(1024));
});

test("with Lambda's heaps, a handler that outgrows its memory fails with Runtime.ExitError, and the next invocation gets a new sandbox", async () => {
  // Prepare: a 128 MB function (a heap of about 120 MB; this machine's default is gigabytes).
  const local = invokerOf([{ ...fn('hog'), modulePath: join(dir, 'heap.mjs') }], true);

  // Act
  const hog = await local.invoke('hog', { hog: true }).catch((err: Error) => err);
  const next = await local.invoke('hog', {});
  await local.stop();

  // Assess
  assert.ok(hog instanceof LambdaInvocationError, `got ${String(hog)}`);
  assert.equal(hog.name, 'Runtime.ExitError');
  assert.match(hog.message, /memory limit/);
  assert.equal(next, await lambdaNodeHeapLimit(128));
});

test('asked for CPU profiles, a sandbox writes profiles of itself while it lives; not asked, none', async () => {
  // Prepare: one invoker profiling into a folder, one not.
  const profiles = await mkdtemp(join(tmpdir(), 'dsn-profiles-'));
  const profiled = new Invoker([fn('profiled')], {
    region: 'us-east-1',
    accountId: '000000000000',
    environmentFor: () => ({}),
    profileDir: profiles,
  });
  const plain = invoker('plain');
  try {
    // Act: one invocation each, then the first profile period (5 s) passes.
    await profiled.invoke('profiled', { ms: 0 });
    await plain.invoke('plain', { ms: 0 });
    let files: string[] = [];
    for (const until = Date.now() + 20_000; files.length === 0 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 200));
      files = (await readdir(profiles)).filter((f) => f.endsWith('.cpuprofile'));
    }

    // Assess: a profile Chrome's DevTools reads, named after its function.
    assert.ok(files.length >= 1, 'no profile written in 20 s');
    assert.match(files[0] ?? '', /^test-profiled-\d+-0\.cpuprofile$/);
    const profile = JSON.parse(await readFile(join(profiles, files[0] ?? ''), 'utf8')) as {
      nodes: unknown[];
      samples: unknown[];
    };
    assert.ok(profile.nodes.length > 0 && Array.isArray(profile.samples));
    assert.ok(
      files.every((f) => f.startsWith('test-profiled-')),
      `only the profiled function writes: ${files}`,
    );
  } finally {
    await profiled.stop();
    await plain.stop();
    await rm(profiles, { recursive: true, force: true });
  }
});

test("a result reaches its caller as JSON, as Lambda's runtime sends it, and one over 6 MB fails the invocation", async () => {
  // Prepare
  const local = invokerOf([{ ...fn('result'), modulePath: join(dir, 'result.mjs') }]);
  try {
    // Act
    const small = await local.invoke('result', {});
    const big = local.invoke('result', { big: true });

    // Assess
    assert.deepEqual(small, {
      bytes: { type: 'Buffer', data: [104, 105] },
      at: '1970-01-01T00:00:00.000Z',
      n: 1,
    });
    await assert.rejects(
      big,
      (err: Error) =>
        err instanceof LambdaInvocationError &&
        err.name === 'Function.ResponseSizeTooLarge' &&
        /exceeded maximum allowed payload size \(6291556 bytes\)/.test(err.message),
    );
  } finally {
    await local.stop();
  }
});

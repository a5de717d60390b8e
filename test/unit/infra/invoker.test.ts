import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Invoker } from '../../../infra/local/invoker.ts';
import type { ServiceFunction } from '../../../infra/local/service.ts';

let dir: string;

/** A function whose handler waits `event.ms` and returns the event. */
function fn(key: string): ServiceFunction {
  return {
    key,
    name: `test-${key}`,
    modulePath: join(dir, 'wait.mjs'),
    exportName: 'handler',
    timeoutSeconds: 60,
    memorySize: 128,
    environment: {},
    events: [],
  };
}

function invoker(...keys: string[]): Invoker {
  return new Invoker(keys.map(fn), {
    region: 'us-east-1',
    accountId: '000000000000',
    environmentFor: () => ({}),
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

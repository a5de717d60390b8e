import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyCut, Shutdown, stopLine } from '../../../infra/local/shutdown.ts';

test('a stop drains, waits for work in flight, then cuts, each phase latest registered first', async () => {
  // Prepare: parts registered in start order, as the cloud does.
  const events: string[] = [];
  const shutdown = new Shutdown(() => {});
  let finish = () => {};
  const inFlight = new Promise<void>((resolve) => {
    finish = resolve;
  });
  shutdown.onCut('emulators', () => events.push('cut emulators'));
  shutdown.onDrain('pollers', () => events.push('drain pollers'));
  shutdown.onCut('functions', () => events.push('cut functions'));
  shutdown.onDrain('api', () => {
    events.push('drain api');
    // The request in flight answers during the grace.
    setImmediate(() => {
      events.push('request answered');
      finish();
    });
  });
  shutdown.whileInFlight(() => inFlight);

  // Act
  const report = await shutdown.run({ graceMs: 5000 });

  // Assess
  assert.deepEqual(events, [
    'drain api',
    'drain pollers',
    'request answered',
    'cut functions',
    'cut emulators',
  ]);
  assert.ok(report.ms < 1000, `took ${report.ms} ms`);
  assert.equal(shutdown.started, true);
});

test('work that outlasts the grace is cut; a step that never ends is named, and the rest still run', async () => {
  // Prepare
  const lines: string[] = [];
  const shutdown = new Shutdown((line) => lines.push(line));
  let unlocked = false;
  shutdown.onCut('the lock', () => {
    unlocked = true;
  });
  shutdown.onCut('a failing part', () => {
    throw new Error('it broke');
  });
  shutdown.onCut('a stuck part', () => new Promise(() => {}));
  shutdown.onCut('the functions', (ctx) => {
    ctx.cut.invocations.rebuilder = 1;
  });
  shutdown.whileInFlight(() => new Promise(() => {})); // a rebuild step: minutes

  // Act
  const report = await shutdown.run({ graceMs: 100, cutBudgetMs: 300 });
  const again = await shutdown.run();

  // Assess
  assert.ok(report.ms < 1000, `took ${report.ms} ms`);
  assert.ok(report.ms >= 100, 'the grace was given');
  assert.equal(unlocked, true);
  assert.deepEqual(report.cut.overran, ['a stuck part']);
  assert.deepEqual(lines, ['stopping a failing part: it broke']);
  assert.match(
    report.line,
    /^stopped in \d+ ms; cut short: 1 rebuilder invocation; did not stop in time: a stuck part$/,
  );
  assert.equal(again, report, 'a second stop is the first one');
});

test('the report line names what was cut, function by function, or says nothing was', () => {
  const cut = {
    ...emptyCut(),
    invocations: { unit2: 2, rebuilder: 1, api: 0 },
    httpRequests: 2,
    keepAliveConnections: 3,
    awsRequests: 1,
    executions: 1,
  };
  assert.equal(
    stopLine(1234, cut),
    'stopped in 1.2 s; cut short: 1 rebuilder invocation, 2 unit2 invocations, 1 Step Functions execution, 2 HTTP requests, 3 keep-alive connections, 1 emulator request',
  );
  assert.equal(stopLine(87.4, emptyCut()), 'stopped in 87 ms; cut short: nothing');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { parseCommitterMessage } from '../../../shared/store/commit-nudge.ts';
import {
  AssociatedTaskRegistry,
  defaultTasks,
  settleCommitterBatch,
} from '../../../shared/store/committer.ts';
import {
  newRevisionId,
  objectIdOf,
  type RevisionRecord,
  type UnitStatus,
} from '../../../shared/store/revision.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryEventBus, MemoryLedger, MemoryObjectIndex } from '../../helpers/memory/index.ts';

function pendingRevision(key: string): RevisionRecord {
  return {
    revision: newRevisionId(),
    vault: 'photos',
    key,
    objectId: objectIdOf('photos', key),
    state: 'pending',
    segmentSize: 1024,
    readThreshold: 2,
    writeThreshold: 2,
    units: [0, 1, 2],
    doneSegments: 0,
    failedUnits: [],
    createdAt: new Date(0).toISOString(),
    tasksDone: false,
  };
}

/** A committer over memory ports, counting its task runs. */
function committer() {
  const clock = new ManualClock();
  const ledger = new MemoryLedger();
  const index = new MemoryObjectIndex();
  const events = new MemoryEventBus();
  let runs = 0;
  const tasks = defaultTasks({ index, ledger, events, clock }).register('count', async () => {
    runs++;
  });
  return { deps: { ledger, tasks, clock }, ledger, index, events, runs: () => runs };
}

test('the status group carries nudges and statuses; each parses to what the committer does', () => {
  const revision = newRevisionId();
  const status: UnitStatus = {
    vault: 'photos',
    revision,
    segment: 0,
    pillar: 1,
    unit: 4,
    ok: true,
  };

  assert.deepEqual(parseCommitterMessage(JSON.stringify({ v: 1, nudge: revision })), [
    { nudge: revision },
  ]);
  assert.deepEqual(parseCommitterMessage(JSON.stringify({ v: 1, statuses: [status] })), [
    { status },
  ]);
});

test('a malformed nudge is refused naming the field and the rule', () => {
  const cases: Array<[string, RegExp]> = [
    [JSON.stringify({ v: 1, nudge: '../x' }), /^nudge\.nudge: must be a revision id/],
    [JSON.stringify({ v: 2, nudge: newRevisionId() }), /^nudge\.v: /],
    [JSON.stringify({ v: 1, nudge: newRevisionId(), extra: 1 }), /^nudge: /],
    [JSON.stringify({ v: 1, nudge: { toString: null } }), /^nudge\.nudge: /],
    ['{"v":1,"nudge":', /^status: is not JSON/],
  ];
  for (const [body, rule] of cases) {
    assert.throws(
      () => parseCommitterMessage(body),
      (err: Error) => err instanceof InvalidParameterError && rule.test(err.message),
      body,
    );
  }
});

test('a nudge commits a revision whose segments are all done, once however often it comes', async () => {
  // Prepare: every segment done before the writer recorded the count (no status is left).
  const { deps, ledger, index, events, runs } = committer();
  const record = pendingRevision('a.txt');
  await ledger.createPending(record, 60_000);
  await ledger.markSegmentsDone(record.revision, [0, 1]);
  await ledger.finishWriting(record.revision, { segments: 2, size: 10, sha256: 'f'.repeat(64) });

  // Act: the nudge, delivered twice in one batch and once more after.
  const first = await settleCommitterBatch(deps, [
    { nudge: record.revision },
    { nudge: record.revision },
  ]);
  const again = await settleCommitterBatch(deps, [{ nudge: record.revision }]);

  // Assess
  assert.deepEqual(
    [...first, ...again].map((r) => r.status),
    ['fulfilled', 'fulfilled', 'fulfilled'],
  );
  assert.equal((await ledger.get(record.revision))?.state, 'committed');
  assert.equal((await index.get('photos', 'a.txt'))?.revision, record.revision);
  assert.equal(runs(), 1);
  assert.deepEqual(
    events.events.map((e) => e.type),
    ['object.committed'],
  );
});

test('a nudge for a revision not done, or unknown, commits nothing and does not fail', async () => {
  const { deps, ledger, runs } = committer();
  const record = pendingRevision('b.txt');
  await ledger.createPending(record, 60_000);
  await ledger.finishWriting(record.revision, { segments: 2, size: 10, sha256: 'f'.repeat(64) });
  await ledger.markSegmentsDone(record.revision, [0]);

  const results = await settleCommitterBatch(deps, [
    { nudge: record.revision },
    { nudge: newRevisionId() },
  ]);

  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled'],
  );
  assert.equal((await ledger.get(record.revision))?.state, 'pending');
  assert.equal(runs(), 0);
});

test('a batch of statuses and nudges gets one result per input, in order', async () => {
  // Prepare: a task that fails makes the nudged revision's input fail; statuses of an unopened
  // segment of an unknown revision are counted as nothing, and succeed.
  const ledger = new MemoryLedger();
  const tasks = new AssociatedTaskRegistry().register('boom', async () => {
    throw new Error('listener down');
  });
  const deps = { ledger, tasks, clock: new ManualClock() };
  const record = pendingRevision('c.txt');
  await ledger.createPending(record, 60_000);
  await ledger.markSegmentsDone(record.revision, [0]);
  await ledger.finishWriting(record.revision, { segments: 1, size: 1, sha256: 'f'.repeat(64) });
  const stray: UnitStatus = {
    vault: 'photos',
    revision: newRevisionId(),
    segment: 0,
    pillar: 0,
    unit: 0,
    ok: true,
  };

  const results = await settleCommitterBatch(deps, [
    { status: stray },
    { nudge: record.revision },
    { status: stray },
  ]);

  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.match(String((results[1] as PromiseRejectedResult).reason), /listener down/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { FENCE_FREE_MS, lateWriteTask } from '../../../shared/store/commit-fence.ts';
import { parseCommitterMessage } from '../../../shared/store/commit-nudge.ts';
import {
  AssociatedTaskRegistry,
  defaultTasks,
  indexTask,
  settleCommitterBatch,
  TASKS_OWNER_MS,
} from '../../../shared/store/committer.ts';
import {
  newRevisionId,
  objectIdOf,
  type RevisionRecord,
  type UnitStatus,
} from '../../../shared/store/revision.ts';
import { isSuperseded } from '../../../shared/store/superseded-write.ts';
import { SUPERSEDED_GRACE_MS } from '../../../shared/store/unit.ts';
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
function committer(start?: number) {
  const clock = new ManualClock(start);
  const ledger = new MemoryLedger();
  const index = new MemoryObjectIndex();
  const events = new MemoryEventBus();
  let runs = 0;
  const tasks = defaultTasks({ index, ledger, events, clock }).register('count', async () => {
    runs++;
  });
  return { deps: { ledger, tasks, clock }, ledger, index, events, runs: () => runs };
}

/** A favorable status of segment 0 from pillar `pillar` (on unit `pillar`), as a batch input. */
const favorable = (revision: string, pillar: number) => ({
  status: {
    vault: 'photos',
    revision,
    segment: 0,
    pillar,
    unit: pillar,
    ok: true,
  } satisfies UnitStatus,
});

/** Records `record` pending with its segment 0 open (3 units, T = 2), as a writer opens one. */
async function openOneSegment(ledger: MemoryLedger, record: RevisionRecord, dueAt: number) {
  await ledger.createPending(record, dueAt);
  await ledger.openSegment(record.revision, 0, { vault: 'photos', width: 3, writeThreshold: 2 });
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

test("the index task publishes the entry clean when the server-side writer found it clean, pending otherwise (the scan task's to decide)", async () => {
  for (const [scanned, state] of [
    [{ state: 'clean' }, 'clean'],
    [{ state: 'infected', signature: 'Eicar-Test-Signature' }, 'pending'],
    [undefined, 'pending'],
  ] as const) {
    // Prepare
    const { deps, ledger, index } = committer();
    const record = pendingRevision('s.txt');
    await ledger.createPending(record, 60_000);
    await ledger.markSegmentsDone(record.revision, [0]);
    await ledger.finishWriting(record.revision, {
      segments: 1,
      size: 10,
      sha256: 'f'.repeat(64),
      ...(scanned ? { scanned } : {}),
    });

    // Act
    await settleCommitterBatch(deps, [{ nudge: record.revision }]);

    // Assess
    assert.equal((await index.get('photos', 's.txt'))?.scanState, state, scanned?.state);
  }
});

test('a status past T after another batch brought the segment to T only tallies; if that batch failed before marking, its redelivery commits', async () => {
  // Prepare: a one-segment revision (T = 2 of 3) whose count is recorded; the first mark or
  // commit fails, as DynamoDB briefly away would make it.
  const { deps, ledger, runs } = committer();
  const record = { ...pendingRevision('past-t.txt'), segments: 1 };
  await openOneSegment(ledger, record, 60_000);
  const calls: string[] = [];
  let away = true;
  for (const name of ['commitWhole', 'markSegmentsDone', 'commit'] as const) {
    const real = (ledger[name] as (...a: unknown[]) => Promise<unknown>).bind(ledger);
    (ledger as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      calls.push(name);
      if (away) {
        away = false;
        throw new Error('DynamoDB is briefly away');
      }
      return real(...args);
    };
  }
  const status = (pillar: number) => favorable(record.revision, pillar);

  // Act: the batch that reaches T fails; the third status comes; the failed batch comes again.
  const reaching = await settleCommitterBatch(deps, [status(0), status(1)]);
  const afterReaching = [...calls];
  calls.length = 0;
  const late = await settleCommitterBatch(deps, [status(2)]);
  const afterLate = [...calls];
  const stateAfterLate = (await ledger.get(record.revision))?.state;
  const again = await settleCommitterBatch(deps, [status(0), status(1)]);

  // Assess
  assert.deepEqual(
    reaching.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.deepEqual(afterReaching, ['commitWhole']);
  assert.deepEqual(
    late.map((r) => r.status),
    ['fulfilled'],
  );
  assert.deepEqual(afterLate, [], 'the late status: its tally alone');
  assert.equal(stateAfterLate, 'pending');
  assert.deepEqual(
    again.map((r) => r.status),
    ['fulfilled', 'fulfilled'],
  );
  assert.equal((await ledger.get(record.revision))?.state, 'committed');
  assert.equal(runs(), 1);
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

/** A revision committed by another invocation, whose tasks have not run yet. */
async function committedElsewhere(
  ledger: MemoryLedger,
  clock: ManualClock,
  key: string,
): Promise<RevisionRecord> {
  const record = pendingRevision(key);
  await ledger.createPending(record, 60_000);
  await ledger.markSegmentsDone(record.revision, [0]);
  await ledger.finishWriting(record.revision, { segments: 1, size: 1, sha256: 'f'.repeat(64) });
  assert.equal(await ledger.commit(record.revision, 1, clock.date()), true);
  return record;
}

/** Moves `clock` on by `stepMs` at a time until `p` settles, calling `at(ms)` before each step. */
async function drive<T>(
  clock: ManualClock,
  p: Promise<T>,
  at: (ms: number) => Promise<void> = async () => {},
): Promise<{ value: T; ms: number }> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  let ms = 0;
  for (; ms < 60_000; ms += 10) {
    await new Promise((r) => setImmediate(r));
    if (settled) break;
    await at(ms);
    clock.advance(10);
  }
  return { value: await p, ms };
}

test('a committer finding the revision committed elsewhere waits for those tasks instead of repeating them', async () => {
  // Prepare: another invocation committed the revision and is running its tasks.
  const { deps, ledger, runs } = committer();
  const record = await committedElsewhere(ledger, deps.clock, 'late.txt');

  // Act: a late status's nudge comes in; the other invocation marks its tasks done 50 ms later.
  const { value } = await drive(
    deps.clock,
    settleCommitterBatch(deps, [{ nudge: record.revision }]),
    async (ms) => {
      if (ms === 50) await ledger.markTasksDone(record.revision);
    },
  );

  // Assess: settled without running a task here.
  assert.deepEqual(
    value.map((r) => r.status),
    ['fulfilled'],
  );
  assert.equal(runs(), 0);
});

test('a committer runs the tasks itself once the commit is TASKS_OWNER_MS old, as when the committing invocation died', async () => {
  // Prepare: committed by an invocation that died before its tasks.
  const { deps, ledger, index, runs } = committer();
  const record = await committedElsewhere(ledger, deps.clock, 'orphan.txt');

  // Act: the dead invocation's own message comes again at once (a restarted local cloud).
  const { value, ms } = await drive(
    deps.clock,
    settleCommitterBatch(deps, [{ nudge: record.revision }]),
  );

  // Assess: the tasks ran once, here, after waiting out the owner's time and no longer.
  assert.deepEqual(
    value.map((r) => r.status),
    ['fulfilled'],
  );
  assert.equal(runs(), 1);
  assert.ok(ms >= TASKS_OWNER_MS && ms <= TASKS_OWNER_MS + 300, `waited ${ms} ms`);
  assert.equal((await ledger.get(record.revision))?.tasksDone, true);
  assert.equal((await index.get('photos', 'orphan.txt'))?.revision, record.revision);
});

test('a committer finding a commit older than TASKS_OWNER_MS with its tasks not done runs them at once', async () => {
  const { deps, ledger, runs } = committer();
  const record = await committedElsewhere(ledger, deps.clock, 'old.txt');
  deps.clock.advance(TASKS_OWNER_MS);

  // No clock step: a wait would never end.
  const results = await settleCommitterBatch(deps, [{ nudge: record.revision }]);

  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled'],
  );
  assert.equal(runs(), 1);
});

test('the commit fence: a revision under a topology superseded past the grace is failed, not committed; within the grace, or under the current topology, it commits', async () => {
  // Prepare: the vault switched from OLD to NEW an hour before the clock.
  const OLD = 'a'.repeat(64);
  const NEW = 'b'.repeat(64);
  const switchedAt = Date.parse('2026-12-01T00:00:00Z');
  const reads: Array<boolean | undefined> = [];
  const world = (now: number) => {
    const built = committer(now);
    const deps = {
      ...built.deps,
      currentTopology: async (_vault: string, options?: { fresh?: boolean }) => {
        reads.push(options?.fresh);
        return { id: NEW, since: switchedAt };
      },
    };
    return { ...built, deps };
  };
  const revisionOf = async (
    w: ReturnType<typeof world>,
    key: string,
    begun: number,
    topology: string,
  ) => {
    const record = {
      ...pendingRevision(key),
      revision: newRevisionId(begun),
      segments: 1,
      topology,
      createdAt: new Date(begun).toISOString(),
    };
    await openOneSegment(w.ledger, record, begun + 60_000);
    const statuses = [0, 1].map((pillar) => favorable(record.revision, pillar));
    return { record, statuses };
  };

  // Act 1: a dispersal begun under OLD an hour before the switch, its last statuses an hour after.
  const late = world(switchedAt + 3_600_000);
  const long = await revisionOf(late, 'long.bin', switchedAt - 3_600_000, OLD);
  const settled = await settleCommitterBatch(late.deps, long.statuses);

  // Assess 1: failed, saying why, nothing visible, no task run; a redelivery changes nothing.
  assert.deepEqual(
    settled.map((r) => r.status),
    ['fulfilled', 'fulfilled'],
  );
  const failed = await late.ledger.get(long.record.revision);
  assert.equal(failed?.state, 'failed');
  assert.ok(isSuperseded(failed?.reason), failed?.reason);
  assert.match(failed?.reason ?? '', /moved to b{64} at 2026-12-01T00:00:00.000Z/);
  assert.equal(await late.index.get('photos', 'long.bin'), undefined);
  assert.equal(late.runs(), 0);
  await settleCommitterBatch(late.deps, [...long.statuses, { nudge: long.record.revision }]);
  assert.equal((await late.ledger.get(long.record.revision))?.state, 'failed');
  assert.ok(reads.includes(true), 'refused only on a fresh read of the topology');

  // Act 2: the same by the writer's nudge, for a revision whose segments were marked before.
  const nudged = await revisionOf(late, 'nudged.bin', switchedAt - 60_000, OLD);
  await late.ledger.markSegmentsDone(nudged.record.revision, [0]);
  await settleCommitterBatch(late.deps, [{ nudge: nudged.record.revision }]);

  // Assess 2
  assert.equal((await late.ledger.get(nudged.record.revision))?.state, 'failed');

  // Act 3: controls. Begun under OLD just before the switch, committing within the grace;
  // begun under NEW long before the clock; and a young revision, which reads no topology.
  const inGrace = world(switchedAt + SUPERSEDED_GRACE_MS - 10);
  const close = await revisionOf(inGrace, 'close.bin', switchedAt - 3000, OLD);
  await settleCommitterBatch(inGrace.deps, close.statuses);
  const current = await revisionOf(late, 'current.bin', switchedAt + 60_000, NEW);
  await settleCommitterBatch(late.deps, current.statuses);
  const young = world(switchedAt + 3_600_000);
  const quick = await revisionOf(young, 'quick.bin', switchedAt + 3_600_000 - 50, OLD);
  reads.length = 0;
  await settleCommitterBatch(young.deps, quick.statuses);

  // Act 4: a view a second stale (still OLD) meets a revision under NEW, which a fresh read
  // knows: the fresh read decides.
  const stale = world(switchedAt + 3_600_000);
  stale.deps.currentTopology = async (_vault, options) =>
    options?.fresh ? { id: NEW, since: switchedAt } : { id: OLD, since: 0 };
  const unknown = await revisionOf(stale, 'unknown-yet.bin', switchedAt + 60_000, NEW);
  await settleCommitterBatch(stale.deps, unknown.statuses);

  // Assess 3 and 4
  assert.equal((await stale.ledger.get(unknown.record.revision))?.state, 'committed');
  assert.equal((await inGrace.ledger.get(close.record.revision))?.state, 'committed');
  assert.equal((await late.index.get('photos', 'current.bin'))?.revision, current.record.revision);
  assert.equal((await young.ledger.get(quick.record.revision))?.state, 'committed');
  assert.deepEqual(reads, [], `a revision younger than ${FENCE_FREE_MS} ms reads no topology`);
});

test('the commit fence and a revision begun before the vault recorded any topology: it commits under the genesis (same units), and is failed once the units changed', async () => {
  // Prepare: revisions without a topology id, an hour old; the vault's genesis recorded since.
  const recordedAt = Date.parse('2026-12-01T00:00:00Z');
  const now = recordedAt + 60_000;
  const run = async (key: string, units: number[]) => {
    const built = committer(now);
    const deps = {
      ...built.deps,
      currentTopology: async () => ({
        id: 'c'.repeat(64),
        since: recordedAt,
        layout: { units, readThreshold: 2, segmentSize: 1024 },
      }),
    };
    const record = {
      ...pendingRevision(key),
      revision: newRevisionId(recordedAt - 3_600_000),
      segments: 1,
    };
    await openOneSegment(built.ledger, record, now + 60_000);
    await settleCommitterBatch(
      deps,
      [0, 1].map((pillar) => favorable(record.revision, pillar)),
    );
    return built.ledger.get(record.revision);
  };

  // Act
  const genesis = await run('genesis.bin', [0, 1, 2]);
  const moved = await run('moved.bin', [0, 1, 5]);

  // Assess
  assert.equal(genesis?.state, 'committed');
  assert.equal(moved?.state, 'failed');
  assert.ok(isSuperseded(moved?.reason), moved?.reason);
});

test('the late-write task tells the topology job of a write under an older topology indexed late; a young one pays no read, and one under the current topology is not told', async () => {
  // Prepare: the vault on NEW since an hour; revisions under OLD (an hour old, and young) and
  // under NEW (an hour old).
  const OLD = 'a'.repeat(64);
  const NEW = 'b'.repeat(64);
  const now = Date.parse('2026-12-01T02:00:00Z');
  const clock = new ManualClock(now);
  const ledger = new MemoryLedger();
  const index = new MemoryObjectIndex();
  const notes: Array<[string, string]> = [];
  const reads: Array<boolean | undefined> = [];
  const indexed = indexTask({ index, ledger, clock });
  const late = lateWriteTask({
    clock,
    lateWrites: {
      currentTopology: async (_vault, options) => {
        reads.push(options?.fresh);
        return { id: NEW, since: now - 3_600_000 };
      },
      note: async (vault, id) => void notes.push([vault, id]),
    },
  });
  const task = async (record: RevisionRecord) => {
    await indexed(record);
    await late(record);
  };
  const committed = (key: string, begun: number, topology: string): RevisionRecord => ({
    ...pendingRevision(key),
    revision: newRevisionId(begun),
    state: 'committed',
    segments: 1,
    size: 4,
    sha256: 'f'.repeat(64),
    topology,
    committedAt: new Date(begun + 100).toISOString(),
  });

  // Act
  await task(committed('young.bin', now - 500, OLD));
  const afterYoung = reads.length;
  await task(committed('current.bin', now - 3_600_000, NEW));
  await task(committed('late.bin', now - 3_600_000, OLD));

  // Assess
  assert.equal(afterYoung, 0, 'a young revision reads no topology');
  assert.deepEqual(notes, [['photos', NEW]], 'only the late one under OLD is told');
  assert.equal((await index.get('photos', 'late.bin'))?.topology, OLD, 'and it is indexed');
});

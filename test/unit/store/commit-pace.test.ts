/**
 * The writer's commit pace (shared/store/commit-pace.ts): the first look for a write's outcome
 * waits for the time commits have taken, learnt from the revisions' recorded commit times, so
 * a writer reads once or twice rather than every few milliseconds; the wait is bounded however
 * slow commits were, and a cold start or a late look does not slow the writes after it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommitPace } from '../../../shared/store/commit-pace.ts';
import type { IndexEntry } from '../../../shared/store/ports.ts';
import type { RevisionRecord } from '../../../shared/store/revision.ts';
import { waitForOutcome } from '../../../shared/store/write-outcome.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryObjectIndex } from '../../helpers/memory/index.ts';

const MiB = 1024 * 1024;

test('the first look comes at 1.2 times the median commit, never past its bound; before any commit, none', () => {
  const pace = new CommitPace();
  assert.equal(pace.firstLookMs(8 * MiB), undefined);
  pace.seen(8 * MiB, 50);
  assert.equal(pace.firstLookMs(8 * MiB), 60);
  pace.seen(8 * MiB, -1);
  pace.seen(8 * MiB, Number.NaN);
  assert.equal(pace.firstLookMs(8 * MiB), 60, 'nonsense is not learnt');
  for (let i = 0; i < 50; i++) pace.seen(8 * MiB, 10_000);
  assert.equal(pace.firstLookMs(8 * MiB), 150);
  for (let i = 0; i < 50; i++) pace.seen(8 * MiB, 5);
  assert.equal(pace.firstLookMs(8 * MiB), 6, 'the old commits are forgotten');
});

test('a cold start does not slow the writes after it: the pace is a median', () => {
  const pace = new CommitPace();
  pace.seen(8 * MiB, 2_085);
  pace.seen(8 * MiB, 70);
  pace.seen(8 * MiB, 60);
  assert.equal(pace.firstLookMs(8 * MiB), 84);
});

test("a small write does not wait at a large one's pace", () => {
  const pace = new CommitPace();
  for (let i = 0; i < 20; i++) pace.seen(8 * MiB, 120);
  assert.equal(pace.firstLookMs(8 * MiB), 144);
  assert.equal(pace.firstLookMs(4096), undefined);
  assert.equal(pace.firstLookMs(5 * MiB), undefined, 'another bit length, another pace');
});

const revision = '00mwzq0jzn82050b176c0d6f34';

/**
 * A revision that commits `commitAfterMs` into the wait, its index entry written with the
 * commit; reads of the ledger and of the index are counted.
 */
function committingAt(clock: ManualClock, commitAfterMs: number) {
  const started = clock.now();
  const committedAt = new Date(started + commitAfterMs).toISOString();
  const reads = { ledger: 0, index: 0 };
  const isIn = () => clock.now() - started >= commitAfterMs;
  const ledger = {
    get: async () => {
      reads.ledger++;
      return {
        revision,
        vault: 'default',
        state: isIn() ? 'committed' : 'pending',
        ...(isIn() ? { committedAt } : {}),
        tasksDone: isIn(),
        size: 3,
        sha256: 'abc',
      } as RevisionRecord;
    },
  } as unknown as Parameters<typeof waitForOutcome>[0]['ledger'];
  const index = {
    get: async () => {
      reads.index++;
      return isIn() ? ({ revision, size: 3, sha256: 'abc', committedAt } as IndexEntry) : undefined;
    },
  } as unknown as Parameters<typeof waitForOutcome>[0]['index'];
  return { ledger, index, reads };
}

/** Runs the wait to its end, moving the clock 1 ms at a time. */
async function waitOn<T>(clock: ManualClock, wait: Promise<T>): Promise<T> {
  let done = false;
  const outcome = wait.finally(() => {
    done = true;
  });
  while (!done) {
    await new Promise((r) => setImmediate(r));
    clock.advance(1);
  }
  return outcome;
}

const written = { vault: 'default', size: 3 };

test('with the pace known, a commit 60 ms into the wait costs one read of its index entry, not six of the ledger', async () => {
  // Prepare
  const clock = new ManualClock();
  const pace = new CommitPace();
  for (let i = 0; i < 20; i++) pace.seen(3, 55);

  // Act: the same commit, waited for with the pace and without it.
  const paced = committingAt(clock, 60);
  const withPace = await waitOn(
    clock,
    waitForOutcome({ ...paced, clock, pace }, 'k', revision, 5_000, { written }),
  );
  const unpaced = committingAt(clock, 60);
  const without = await waitOn(
    clock,
    waitForOutcome({ ...unpaced, clock }, 'k', revision, 5_000, { written }),
  );

  // Assess: the paced look at 66 ms finds the entry; unpaced, the ledger at 10, 20, ... 60 ms.
  assert.deepEqual(withPace, { state: 'committed', key: 'k', revision, size: 3, sha256: 'abc' });
  assert.deepEqual(without, withPace);
  assert.deepEqual(paced.reads, { ledger: 0, index: 1 });
  assert.deepEqual(unpaced.reads, { ledger: 6, index: 0 });
});

test('a look that comes late learns the recorded commit time, so the next look comes sooner', async () => {
  // Prepare: a pace of 125 ms (first look at 150), and a commit 40 ms into the wait.
  const clock = new ManualClock();
  const pace = new CommitPace();
  pace.seen(3, 125);
  const late = committingAt(clock, 40);

  // Act
  const outcome = await waitOn(
    clock,
    waitForOutcome({ ...late, clock, pace }, 'k', revision, 5_000, { written }),
  );

  // Assess: seen at 150 ms, learnt as 40 ms (the median of 125 and 40 is the later of the two).
  assert.equal(outcome.state, 'committed');
  pace.seen(3, 40);
  assert.equal(pace.firstLookMs(3), 48, 'two commits at 40 ms make the median 40 ms, not 150');
});

test('a first look that misses reads the ledger, which alone tells a failure', async () => {
  // Prepare
  const clock = new ManualClock();
  const pace = new CommitPace();
  pace.seen(3, 20);
  let ledgerReads = 0;
  const deps = {
    clock,
    pace,
    index: new MemoryObjectIndex(),
    ledger: {
      get: async () => {
        ledgerReads++;
        return { revision, state: 'failed', failedUnits: [2, 3], reason: 'units 2 and 3 failed' };
      },
    } as unknown as Parameters<typeof waitForOutcome>[0]['ledger'],
  };

  // Act
  const outcome = await waitOn(clock, waitForOutcome(deps, 'k', revision, 5_000, { written }));

  // Assess
  assert.deepEqual(outcome, {
    state: 'failed',
    key: 'k',
    revision,
    failedUnits: [2, 3],
    reason: 'units 2 and 3 failed',
  });
  assert.equal(ledgerReads, 1);
});

test('a caller that does not wait gets the ledger at once, whatever the pace', async () => {
  // Prepare
  const clock = new ManualClock();
  const pace = new CommitPace();
  pace.seen(3, 50);
  const later = committingAt(clock, 60);

  // Act
  const outcome = await waitForOutcome({ ...later, clock, pace }, 'k', revision, 0, { written });

  // Assess
  assert.deepEqual(outcome, { state: 'pending', key: 'k', revision });
  assert.deepEqual(later.reads, { ledger: 1, index: 0 });
});

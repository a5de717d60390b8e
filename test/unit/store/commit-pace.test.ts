/**
 * The writer's commit pace (shared/store/commit-pace.ts): the first look for a write's outcome
 * waits for most of the time commits have taken, so a writer reads its revision once or twice
 * rather than every few milliseconds; the wait is bounded however slow commits were.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommitPace } from '../../../shared/store/commit-pace.ts';
import type { RevisionRecord } from '../../../shared/store/revision.ts';
import { waitForOutcome } from '../../../shared/store/writer.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryObjectIndex } from '../../helpers/memory/index.ts';

const MiB = 1024 * 1024;

test('the first look waits for a share of the pace seen, never past its bound; before any commit, the fallback', () => {
  const pace = new CommitPace();
  assert.equal(pace.firstLookMs(8 * MiB, 10), 10);
  pace.seen(8 * MiB, 50);
  assert.equal(pace.firstLookMs(8 * MiB, 10), 35);
  pace.seen(8 * MiB, -1);
  pace.seen(8 * MiB, Number.NaN);
  assert.equal(pace.firstLookMs(8 * MiB, 10), 35, 'nonsense is not learnt');
  for (let i = 0; i < 50; i++) pace.seen(8 * MiB, 10_000);
  assert.equal(pace.firstLookMs(8 * MiB, 10), 150);
  for (let i = 0; i < 50; i++) pace.seen(8 * MiB, 1);
  assert.equal(pace.firstLookMs(8 * MiB, 10), 10, 'never sooner than the fallback');
});

test("a small write does not wait at a large one's pace", () => {
  const pace = new CommitPace();
  for (let i = 0; i < 20; i++) pace.seen(8 * MiB, 120);
  assert.equal(pace.firstLookMs(8 * MiB, 10), 84);
  assert.equal(pace.firstLookMs(4096, 10), 10);
  assert.equal(pace.firstLookMs(5 * MiB, 10), 10, 'another bit length, another pace');
});

/** A revision that commits `commitAfterMs` into the wait; its reads are counted. */
function committingAt(clock: ManualClock, commitAfterMs: number) {
  const started = clock.now();
  const revision = '00mwzq0jzn82050b176c0d6f34';
  let reads = 0;
  const record = (state: RevisionRecord['state']) =>
    ({
      revision,
      vault: 'default',
      state,
      tasksDone: true,
      size: 3,
      sha256: 'abc',
    }) as RevisionRecord;
  const ledger = {
    get: async () => {
      reads++;
      return record(clock.now() - started >= commitAfterMs ? 'committed' : 'pending');
    },
  } as unknown as Parameters<typeof waitForOutcome>[0]['ledger'];
  return { ledger, revision, reads: () => reads };
}

/** Runs the wait to its end, moving the clock 1 ms at a time. */
async function waitOn(clock: ManualClock, wait: Promise<{ state: string }>) {
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

test('with the pace known, a commit 60 ms into the wait costs half the reads: the first look comes at 46 ms, not 10', async () => {
  // Prepare
  const clock = new ManualClock();
  const pace = new CommitPace();
  for (let i = 0; i < 20; i++) pace.seen(3, 65);
  const index = new MemoryObjectIndex();

  // Act: the same commit, waited for with the pace and without it.
  const paced = committingAt(clock, 60);
  const withPace = await waitOn(
    clock,
    waitForOutcome(
      { ledger: paced.ledger, index, clock, pace },
      'k',
      paced.revision,
      5_000,
      undefined,
      3,
    ),
  );
  const unpaced = committingAt(clock, 60);
  const without = await waitOn(
    clock,
    waitForOutcome({ ledger: unpaced.ledger, index, clock }, 'k', unpaced.revision, 5_000),
  );

  // Assess
  assert.equal(withPace.state, 'committed');
  assert.equal(without.state, 'committed');
  // At 46 (0.7 of the pace), 56 and 66 ms; without it at 10, 20, ... 60 ms.
  assert.equal(paced.reads(), 3);
  assert.equal(unpaced.reads(), 6);
});

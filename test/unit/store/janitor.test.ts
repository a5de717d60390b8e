import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { s3Crc32 } from '../../../shared/codec/index.ts';
import { RoleLostError } from '../../../shared/errors.ts';
import {
  GARBAGE_GRACE_MS,
  JANITOR_MARGIN_MS,
  RETRIEVAL_URL_SECONDS,
  runJanitor,
  TIMED_OUT,
} from '../../../shared/store/index.ts';
import type { RevisionRecord } from '../../../shared/store/revision.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryLedger, MemorySliceStore } from '../../helpers/memory/index.ts';
import { PROJECT_ROOT } from '../../helpers/paths.ts';

function pending(revision: string): RevisionRecord {
  return {
    revision,
    vault: 'photos',
    key: `${revision}.bin`,
    objectId: 'AAAAAAAAAAAAAAAAAAAAAA',
    state: 'pending',
    segmentSize: 65536,
    readThreshold: 2,
    writeThreshold: 2,
    units: [0, 1, 2],
    doneSegments: 0,
    failedUnits: [],
    createdAt: '2026-12-01T00:00:00.000Z',
    tasksDone: false,
  };
}

test("a janitor that loses its role stops before its next revision, leaving it to the role's new holder", async () => {
  // Prepare: two stale pending revisions; the role is taken over after the first.
  const clock = new ManualClock();
  const ledger = new MemoryLedger();
  await ledger.createPending(pending('00aaaaaaaaaaaaaaaaaaaaaaaa'), clock.now() - 2);
  await ledger.createPending(pending('00bbbbbbbbbbbbbbbbbbbbbbbb'), clock.now() - 1);
  let renewals = 0;
  const role = {
    renew: async () => {
      renewals++;
      if (renewals > 1) throw new RoleLostError('janitor', 1, 'taken over or released');
    },
  };

  // Act, Assess
  await assert.rejects(
    runJanitor({ ledger, slices: new MemorySliceStore(3), clock, role }),
    RoleLostError,
  );
  assert.equal((await ledger.get('00aaaaaaaaaaaaaaaaaaaaaaaa'))?.state, undefined);
  assert.equal((await ledger.get('00bbbbbbbbbbbbbbbbbbbbbbbb'))?.state, 'pending');
});

test('a pending revision moved on after the janitor listed it is neither failed nor emptied', async () => {
  // Prepare: two revisions past due, each with a slice; one is moved on (its writer made
  // progress) between the janitor's listing and its fail.
  const clock = new ManualClock();
  const ledger = new MemoryLedger();
  const slices = new MemorySliceStore(3);
  const live = pending('00aaaaaaaaaaaaaaaaaaaaaaaa');
  const dead = pending('00bbbbbbbbbbbbbbbbbbbbbbbb');
  for (const r of [live, dead]) {
    await ledger.createPending(r, clock.now() - 1);
    const body = new Uint8Array(4);
    await slices.put(0, `photos/${r.objectId}/${r.revision}/0.0`, body, s3Crc32(body));
  }
  const racing = Object.assign(Object.create(ledger) as MemoryLedger, {
    due: async (now: number, limit: number) => {
      const listed = await ledger.due(now, limit);
      assert.ok(await ledger.extendPending(live.revision, now + 60_000));
      return listed;
    },
  });

  // Act
  const report = await runJanitor({ ledger: racing, slices, clock });

  // Assess
  assert.deepEqual(report, { timedOut: 1, purged: 1, slicesDeleted: 1, more: false });
  assert.equal((await ledger.get(live.revision))?.state, 'pending');
  assert.equal((await ledger.get(live.revision))?.dueAt, clock.now() + 60_000);
  assert.ok(await slices.get(0, `photos/${live.objectId}/${live.revision}/0.0`));
  assert.equal(await ledger.get(dead.revision), undefined, `${TIMED_OUT}, then purged`);
});

test('one run reads the due list page after page until it comes short, unless its time runs low', async () => {
  // Prepare: 250 stale pending revisions, past the one page a run used to read.
  const clock = new ManualClock();
  const stale = async () => {
    const ledger = new MemoryLedger();
    for (let i = 0; i < 250; i++)
      await ledger.createPending(pending(`00${String(i).padStart(24, '0')}`), clock.now() - 1 - i);
    return ledger;
  };
  const all = await stale();
  const short = await stale();

  // Act
  const whole = await runJanitor({ ledger: all, slices: new MemorySliceStore(3), clock });
  const cut = await runJanitor({
    ledger: short,
    slices: new MemorySliceStore(3),
    clock,
    remainingMs: () => JANITOR_MARGIN_MS - 1,
  });

  // Assess
  assert.deepEqual(whole, { timedOut: 250, purged: 250, slicesDeleted: 0, more: false });
  assert.deepEqual(await all.due(clock.now(), 1000), []);
  assert.deepEqual(cut, { timedOut: 100, purged: 100, slicesDeleted: 0, more: true });
  assert.equal((await short.due(clock.now(), 1000)).length, 150, 'left for the next run');
});

test("a replaced revision's slices outlast the longest read begun before: the reader function's stream and a client's window of slice URLs", async () => {
  // Prepare: a committed revision with a slice, replaced now (the committer's retire).
  const yml = await readFile(join(PROJECT_ROOT, 'serverless.yml'), 'utf8');
  const readerTimeout = Number(/\n {4}reader:\n(?: {6}.*\n)*? {6}timeout: (\d+)/.exec(yml)?.[1]);
  assert.ok(readerTimeout > 0, "the reader's timeout in serverless.yml");
  const clock = new ManualClock();
  const ledger = new MemoryLedger();
  const slices = new MemorySliceStore(3);
  const old = pending('00cccccccccccccccccccccccc');
  await ledger.createPending(old, clock.now() + 60_000);
  await ledger.finishWriting(old.revision, { segments: 1, size: 3, sha256: 'a'.repeat(64) });
  assert.ok(await ledger.commitWhole(old.revision, 1, clock.date()));
  const slice = new Uint8Array([1, 2, 3]);
  await slices.put(0, `photos/${old.objectId}/${old.revision}/x`, slice, s3Crc32(slice));
  await ledger.retire(old.revision, clock.now() + GARBAGE_GRACE_MS);
  const longestRead = Math.max(readerTimeout * 1000, RETRIEVAL_URL_SECONDS * 1000);

  // Act: the janitor's runs up to the end of the longest read, then past the grace.
  clock.advance(longestRead);
  const during = await runJanitor({ ledger, slices, clock });
  const keptThen = await slices.head(0, `photos/${old.objectId}/${old.revision}/x`);
  clock.advance(GARBAGE_GRACE_MS - longestRead);
  const after = await runJanitor({ ledger, slices, clock });

  // Assess
  assert.ok(GARBAGE_GRACE_MS > longestRead, `${GARBAGE_GRACE_MS} ms > ${longestRead} ms`);
  assert.equal(during.purged, 0);
  assert.ok(keptThen, 'readable while a read begun before the replacement may still run');
  assert.equal(after.purged, 1);
  assert.equal(await slices.head(0, `photos/${old.objectId}/${old.revision}/x`), undefined);
});

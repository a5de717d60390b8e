/**
 * The Ledger contract: what the writer, the committer and the janitor rely on. Every write is
 * idempotent; state flips happen once; tallies count distinct pillars of open segments only.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Ledger, RevisionRecord, SegmentJudge } from '../../shared/store/index.ts';
import { dispersingKey, newRevisionId } from '../../shared/store/index.ts';
import { type PortFactory, portTest } from './contract.ts';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const judge: SegmentJudge = { vault: 'photos', width: 6, writeThreshold: 5 };

/** A pending revision of `photos` as the writer records it (segment count known or not). */
export function pendingRecord(overrides: Partial<RevisionRecord> = {}): RevisionRecord {
  const revision = overrides.revision ?? newRevisionId(T0);
  return {
    revision,
    vault: 'photos',
    key: `k/${revision}`,
    objectId: 'AAAAAAAAAAAAAAAAAAAAAA',
    state: 'pending',
    segmentSize: 4096,
    readThreshold: 4,
    writeThreshold: 5,
    units: [5, 4, 3, 2, 1, 0],
    doneSegments: 0,
    failedUnits: [],
    createdAt: new Date(T0).toISOString(),
    tasksDone: false,
    ...overrides,
  };
}

/** What `get` returns for a record created due at `dueAt`: every field present, counts at zero. */
function asRead(record: RevisionRecord, dueAt = T0 + 60_000): RevisionRecord {
  return {
    ...record,
    dueAt,
    segments: record.segments,
    size: record.size,
    sha256: record.sha256,
    committedAt: record.committedAt,
    reason: record.reason,
    doneSegments: 0,
    failedUnits: [],
  };
}

/** A pending revision of `segments` known segments, each opened with `judge`. */
async function opened(ledger: Ledger, segments: number, dueAt = T0 + 60_000) {
  const record = pendingRecord({ segments, size: 10, sha256: 'a'.repeat(64) });
  await ledger.createPending(record, dueAt);
  for (let s = 0; s < segments; s++) await ledger.openSegment(record.revision, s, judge);
  return record;
}

const votes = (favorable: number[], unfavorable: number[] = [], failedUnits: number[] = []) => ({
  vault: 'photos',
  favorable,
  unfavorable,
  failedUnits,
});

/** Registers the contract's tests; `factory` builds an empty ledger. */
export function ledgerContract(name: string, factory: PortFactory<Ledger>): void {
  const it = portTest(factory);

  describe(`Ledger contract: ${name}`, () => {
    it('createPending records a pending revision that get reads back, counts at zero', async (ledger) => {
      // Prepare: counts in the record are not the ledger's; it starts them itself.
      const record = pendingRecord({ doneSegments: 3, failedUnits: [2] });

      // Act
      await ledger.createPending(record, T0 + 60_000);

      // Assess
      assert.deepEqual(await ledger.get(record.revision), asRead(record));
    });

    it('the writer of a revision (its root key id) is kept and read back', async (ledger) => {
      const record = pendingRecord({ writer: 'AKIDWRITER' });
      await ledger.createPending(record, T0 + 60_000);
      assert.equal((await ledger.get(record.revision))?.writer, 'AKIDWRITER');
    });

    it('get of an unknown revision is undefined', async (ledger) => {
      assert.equal(await ledger.get(newRevisionId(T0)), undefined);
    });

    it('a second createPending of a revision is refused and keeps the first', async (ledger) => {
      // Prepare
      const record = pendingRecord();
      await ledger.createPending(record, T0 + 60_000);

      // Act / Assess
      await assert.rejects(ledger.createPending({ ...record, key: 'other' }, T0 + 60_000), {
        name: 'ConditionalCheckFailedException',
      });
      assert.equal((await ledger.get(record.revision))?.key, record.key);
    });

    it('tally counts the distinct pillars of an open segment, and returns its judge', async (ledger) => {
      // Prepare
      const r = await opened(ledger, 1);

      // Act
      const first = await ledger.tally(r.revision, 0, votes([0, 1]));
      const overlapping = await ledger.tally(r.revision, 0, votes([1, 2], [3]));
      const repeated = await ledger.tally(r.revision, 0, votes([1, 2], [3]));

      // Assess
      assert.deepEqual(first, {
        ...judge,
        favorable: 2,
        unfavorable: 0,
        favorableBefore: 0,
        repeated: false,
      });
      assert.deepEqual(overlapping, {
        ...judge,
        favorable: 3,
        unfavorable: 1,
        favorableBefore: 2,
        repeated: true,
      });
      assert.deepEqual(repeated, { ...overlapping, favorableBefore: 3 });
      // New pillars only, either way: not a repeat, whatever was counted before.
      const fresh = await ledger.tally(r.revision, 0, votes([4], [5]));
      assert.deepEqual(fresh, {
        ...judge,
        favorable: 4,
        unfavorable: 2,
        favorableBefore: 3,
        repeated: false,
      });
    });

    it('concurrent tallies of one segment all count', async (ledger) => {
      const r = await opened(ledger, 1);
      const tallies = await Promise.all(
        [0, 1, 2, 3, 4, 5].map((p) => ledger.tally(r.revision, 0, votes([p]))),
      );
      assert.equal((await ledger.tally(r.revision, 0, votes([0])))?.favorable, 6);
      // The writes are serial on the item: each saw a different count before it, 0 to 5, so
      // exactly one of them brought the segment to any threshold.
      assert.deepEqual(tallies.map((t) => t?.favorableBefore).sort(), [0, 1, 2, 3, 4, 5]);
    });

    it('tally of a segment never opened, or opened for another vault, counts nothing', async (ledger) => {
      // Prepare
      const r = await opened(ledger, 1);

      // Act
      const unopened = await ledger.tally(r.revision, 1, votes([0], [1], [1]));
      const foreign = await ledger.tally(r.revision, 0, { ...votes([0], [1], [1]), vault: 'x' });
      const own = await ledger.tally(r.revision, 0, votes([2]));

      // Assess
      assert.equal(unopened, undefined);
      assert.equal(foreign, undefined);
      assert.deepEqual(own, {
        ...judge,
        favorable: 1,
        unfavorable: 0,
        favorableBefore: 0,
        repeated: false,
      });
      assert.deepEqual((await ledger.get(r.revision))?.failedUnits, []);
    });

    it("tally adds the failed units to the revision's, once and in order", async (ledger) => {
      const r = await opened(ledger, 2);
      await ledger.tally(r.revision, 0, votes([], [4, 1], [4, 1]));
      await ledger.tally(r.revision, 1, votes([], [1], [1]));
      assert.deepEqual((await ledger.get(r.revision))?.failedUnits, [1, 4]);
    });

    it('tally without a pillar is refused with a RangeError', async (ledger) => {
      const r = await opened(ledger, 1);
      await assert.rejects(ledger.tally(r.revision, 0, votes([], [])), RangeError);
    });

    it('opening a segment again never resets its tally', async (ledger) => {
      const r = await opened(ledger, 1);
      await ledger.tally(r.revision, 0, votes([0, 1], [2]));
      await ledger.openSegment(r.revision, 0, judge);
      assert.deepEqual(await ledger.tally(r.revision, 0, votes([3])), {
        ...judge,
        favorable: 3,
        unfavorable: 1,
        favorableBefore: 2,
        repeated: false,
      });
    });

    it('markSegmentsDone adds to a set: repeats count once', async (ledger) => {
      // Prepare
      const r = await opened(ledger, 3);

      // Act
      await ledger.markSegmentsDone(r.revision, [0, 1]);
      const after = await ledger.markSegmentsDone(r.revision, [1, 2, 2]);

      // Assess
      assert.equal(after?.doneSegments, 3);
      assert.equal(after?.state, 'pending');
      assert.equal((await ledger.get(r.revision))?.doneSegments, 3);
    });

    it('markSegmentsDone of an unknown revision is undefined, and of no segment is refused', async (ledger) => {
      const r = await opened(ledger, 1);
      assert.equal(await ledger.markSegmentsDone(newRevisionId(T0), [0]), undefined);
      // DynamoDB has no empty sets.
      await assert.rejects(ledger.markSegmentsDone(r.revision, []));
    });

    it('finishWriting records what the writer learnt and returns the record', async (ledger) => {
      // Prepare: a streamed write, count unknown.
      const record = pendingRecord();
      await ledger.createPending(record, T0 + 60_000);

      // Act
      const info = { segments: 2, size: 5000, sha256: 'b'.repeat(64) };
      const after = await ledger.finishWriting(record.revision, info);

      // Assess
      assert.deepEqual(after, { ...asRead(record), ...info });
      assert.deepEqual(await ledger.get(record.revision), after);
    });

    it('finishWriting of an unknown revision is refused', async (ledger) => {
      await assert.rejects(
        ledger.finishWriting(newRevisionId(T0), { segments: 1, size: 1, sha256: '' }),
        { name: 'ConditionalCheckFailedException' },
      );
    });

    it('commit waits for the segment count and every segment, then flips once', async (ledger) => {
      // Prepare: a streamed write whose statuses arrive before its count is known.
      const record = pendingRecord();
      await ledger.createPending(record, T0 + 60_000);
      await ledger.markSegmentsDone(record.revision, [0]);
      const at = new Date(T0 + 5_000);

      // Act
      const unknownCount = await ledger.commit(record.revision, 2, at);
      await ledger.finishWriting(record.revision, { segments: 2, size: 1, sha256: 'c' });
      const oneOfTwo = await ledger.commit(record.revision, 2, at);
      await ledger.markSegmentsDone(record.revision, [1]);
      const wrongCount = await ledger.commit(record.revision, 3, at);
      const racing = await Promise.all([1, 2, 3].map(() => ledger.commit(record.revision, 2, at)));

      // Assess
      assert.deepEqual(
        [unknownCount, oneOfTwo, wrongCount],
        [false, false, false],
        'not before the count is known and every segment is done',
      );
      assert.deepEqual(
        racing.filter((won) => won),
        [true],
        'exactly one call flips it',
      );
      const after = await ledger.get(record.revision);
      assert.equal(after?.state, 'committed');
      assert.equal(after?.committedAt, at.toISOString());
      assert.deepEqual(await ledger.due(T0 + 3_600_000, 10), [], 'a committed revision is not due');
    });

    it('commitWhole marks every segment done and commits in one write, only when the count is known and matches, once', async (ledger) => {
      // Prepare: a streamed write whose count is not recorded yet.
      const record = pendingRecord();
      await ledger.createPending(record, T0 + 60_000);
      const at = new Date(T0 + 5_000);

      // Act
      const unknownCount = await ledger.commitWhole(record.revision, 2, at);
      await ledger.finishWriting(record.revision, { segments: 2, size: 1, sha256: 'c' });
      const wrongCount = await ledger.commitWhole(record.revision, 1, at);
      const racing = await Promise.all(
        [1, 2, 3].map(() => ledger.commitWhole(record.revision, 2, at)),
      );

      // Assess
      assert.deepEqual([unknownCount, wrongCount], [undefined, undefined]);
      assert.equal((await ledger.get(record.revision))?.state, 'committed');
      const won = racing.filter((r) => r !== undefined);
      assert.equal(won.length, 1, 'exactly one call flips it');
      assert.equal(won[0]?.state, 'committed');
      assert.equal(won[0]?.doneSegments, 2);
      assert.equal(won[0]?.committedAt, at.toISOString());
      assert.deepEqual(await ledger.due(T0 + 3_600_000, 10), [], 'a committed revision is not due');
      assert.equal(
        await ledger.commitWhole(newRevisionId(T0), 1, at),
        undefined,
        'unknown revision',
      );
      const failed = pendingRecord();
      await ledger.createPending({ ...failed, segments: 1 }, T0 + 60_000);
      await ledger.fail(failed.revision, 'lost', T0);
      assert.equal(await ledger.commitWhole(failed.revision, 1, at), undefined, 'failed revision');
      assert.equal((await ledger.get(failed.revision))?.state, 'failed');
    });

    it('commit of an unknown revision is false', async (ledger) => {
      assert.equal(await ledger.commit(newRevisionId(T0), 1, new Date(T0)), false);
    });

    it("extendPending moves a pending revision on, never back, and nothing else; the janitor's conditional fail then holds off", async (ledger) => {
      // Prepare: a pending revision due at T0 + 60 s, and a committed one.
      const r = await opened(ledger, 1);
      const done = await opened(ledger, 1);
      await ledger.markSegmentsDone(done.revision, [0]);
      await ledger.commit(done.revision, 1, new Date(T0));

      // Act
      const back = await ledger.extendPending(r.revision, T0 + 30_000);
      const on = await ledger.extendPending(r.revision, T0 + 120_000);
      const same = await ledger.extendPending(r.revision, T0 + 120_000);
      const committed = await ledger.extendPending(done.revision, T0 + 120_000);
      const absent = newRevisionId(T0);
      const unknown = await ledger.extendPending(absent, T0 + 120_000);
      const early = await ledger.fail(r.revision, 'timed out', T0 + 60_000, T0 + 60_000);

      // Assess
      assert.deepEqual([back, on, same, committed, unknown], [false, true, false, false, false]);
      assert.equal(early, false, 'not due by the listing time any more');
      const after = await ledger.get(r.revision);
      assert.deepEqual([after?.state, after?.dueAt], ['pending', T0 + 120_000]);
      assert.deepEqual(await ledger.due(T0 + 60_000, 10), [], 'off the due list until then');
      assert.deepEqual(
        (await ledger.due(T0 + 120_000, 10)).map((d) => d.revision),
        [r.revision],
      );
      assert.equal(await ledger.fail(r.revision, 'timed out', T0 + 120_000, T0 + 120_000), true);
      assert.equal(await ledger.get(absent), undefined, 'no bare item made');
      assert.equal((await ledger.get(done.revision))?.dueAt, undefined, 'a committed one has none');
    });

    it('openSegment keeps the checksums a segment was announced with, the last ones when again', async (ledger) => {
      // Prepare: segment 0 announced twice, 1 opened without checksums (a server-side write).
      const r = await opened(ledger, 2);

      // Act
      await ledger.openSegment(r.revision, 0, judge, ['AAAAAA==', 'BBBBBB==']);
      await ledger.openSegment(r.revision, 0, judge, ['CCCCCC==', 'DDDDDD==']);
      await ledger.tally(r.revision, 0, votes([0]));
      await ledger.openSegment(r.revision, 1, judge);

      // Assess
      assert.deepEqual(
        await ledger.announcedChecksums(r.revision),
        new Map([[0, ['CCCCCC==', 'DDDDDD==']]]),
      );
      assert.deepEqual(await ledger.announcedChecksums(newRevisionId(T0)), new Map());
    });

    it('fail flips pending to failed once, with its reason, due at its time', async (ledger) => {
      // Prepare
      const r = await opened(ledger, 1);

      // Act
      const racing = await Promise.all(
        ['a', 'b', 'c'].map((reason) => ledger.fail(r.revision, reason, T0 + 1_000)),
      );

      // Assess
      assert.equal(racing.filter((won) => won).length, 1);
      const after = await ledger.get(r.revision);
      assert.equal(after?.state, 'failed');
      assert.equal(after?.reason, ['a', 'b', 'c'][racing.indexOf(true)]);
      assert.deepEqual(
        (await ledger.due(T0 + 1_000, 10)).map((d) => d.revision),
        [r.revision],
      );
    });

    it('a committed revision cannot fail, and a failed one cannot commit', async (ledger) => {
      // Prepare
      const committed = await opened(ledger, 1);
      await ledger.markSegmentsDone(committed.revision, [0]);
      await ledger.commit(committed.revision, 1, new Date(T0));
      const failed = await opened(ledger, 1);
      await ledger.fail(failed.revision, 'lost', T0);
      await ledger.markSegmentsDone(failed.revision, [0]);

      // Act / Assess
      assert.equal(await ledger.fail(committed.revision, 'late', T0), false);
      assert.equal(await ledger.commit(failed.revision, 1, new Date(T0)), false);
      assert.equal((await ledger.get(committed.revision))?.state, 'committed');
      assert.equal((await ledger.get(failed.revision))?.state, 'failed');
    });

    it('retire turns a committed revision into garbage due for cleanup, and nothing else', async (ledger) => {
      // Prepare
      const committed = await opened(ledger, 1);
      await ledger.markSegmentsDone(committed.revision, [0]);
      await ledger.commit(committed.revision, 1, new Date(T0));
      const pending = await opened(ledger, 1, T0 + 60_000);

      // Act
      await ledger.retire(committed.revision, T0 + 10);
      await ledger.retire(committed.revision, T0 + 10);
      await ledger.retire(pending.revision, T0 + 10);
      await ledger.retire(newRevisionId(T0), T0 + 10);

      // Assess
      assert.equal((await ledger.get(committed.revision))?.state, 'garbage');
      assert.equal((await ledger.get(pending.revision))?.state, 'pending');
      assert.deepEqual(
        (await ledger.due(T0 + 10, 10)).map((d) => d.revision),
        [committed.revision],
        'the pending one stays due at its own time',
      );
    });

    it('due lists stale pending, failed and garbage revisions whose time has come, oldest first, up to the limit', async (ledger) => {
      // Prepare
      const stale = await opened(ledger, 1, T0 + 100);
      const failed = await opened(ledger, 1, T0 + 300);
      await ledger.fail(failed.revision, 'lost', T0 + 50);
      const garbage = await opened(ledger, 1);
      await ledger.markSegmentsDone(garbage.revision, [0]);
      await ledger.commit(garbage.revision, 1, new Date(T0));
      await ledger.retire(garbage.revision, T0 + 200);
      const committed = await opened(ledger, 1);
      await ledger.markSegmentsDone(committed.revision, [0]);
      await ledger.commit(committed.revision, 1, new Date(T0));
      await opened(ledger, 1, T0 + 1_000);

      // Act
      const all = await ledger.due(T0 + 500, 10);
      const two = await ledger.due(T0 + 500, 2);

      // Assess
      assert.deepEqual(
        all.map((r) => [r.revision, r.state]),
        [
          [failed.revision, 'failed'],
          [stale.revision, 'pending'],
          [garbage.revision, 'garbage'],
        ],
      );
      assert.deepEqual(
        two.map((r) => r.revision),
        [failed.revision, stale.revision],
      );
      assert.deepEqual(all[1], await ledger.get(stale.revision));
    });

    it('purged forgets the revision and its tallies: a late status or done segment counts nothing', async (ledger) => {
      // Prepare
      const r = await opened(ledger, 2, T0);
      await ledger.tally(r.revision, 0, votes([0]));

      // Act
      await ledger.purged(r.revision);
      await ledger.purged(r.revision);

      // Assess
      assert.equal(await ledger.get(r.revision), undefined);
      assert.equal(await ledger.tally(r.revision, 0, votes([1])), undefined);
      assert.equal(await ledger.tally(r.revision, 1, votes([1])), undefined);
      assert.equal(await ledger.markSegmentsDone(r.revision, [0]), undefined);
      assert.equal(await ledger.fail(r.revision, 'late', T0), false);
      assert.deepEqual(await ledger.due(T0 + 60_000, 10), []);
    });

    it('markTasksDone marks the record, and again changes nothing', async (ledger) => {
      const r = await opened(ledger, 1);
      await ledger.markTasksDone(r.revision);
      await ledger.markTasksDone(r.revision);
      assert.deepEqual(await ledger.get(r.revision), {
        ...asRead(r),
        segments: 1,
        tasksDone: true,
      });
    });

    it('a late markTasksDone after purged does not bring the revision back', async (ledger) => {
      const r = await opened(ledger, 1);
      await ledger.purged(r.revision);
      await ledger.markTasksDone(r.revision);
      assert.equal(await ledger.get(r.revision), undefined);
    });

    it("pendingDispersals lists a writer's pending dispersals in a vault, in revision order, by page; a commit or failure takes one off", async (ledger) => {
      // Prepare: four dispersals of writer A in photos, one of B, one of A elsewhere, and a
      // server-side write of A (not a dispersal).
      const mine = dispersingKey('photos', 'A');
      const revisions = [1, 2, 3, 4].map((i) => newRevisionId(T0 + i));
      for (const revision of revisions)
        await ledger.createPending(
          pendingRecord({ revision, writer: 'A', dispersing: mine, segments: 1 }),
          T0 + 60_000,
        );
      await ledger.createPending(
        pendingRecord({ writer: 'B', dispersing: dispersingKey('photos', 'B') }),
        T0 + 60_000,
      );
      await ledger.createPending(
        pendingRecord({ vault: 'other', writer: 'A', dispersing: dispersingKey('other', 'A') }),
        T0 + 60_000,
      );
      await ledger.createPending(pendingRecord({ writer: 'A' }), T0 + 60_000);
      const [r1, r2, r3, r4] = revisions as [string, string, string, string];

      // Act: two pages of two; then one committed and one failed.
      const first = await ledger.pendingDispersals('photos', 'A', { limit: 2 });
      const second = await ledger.pendingDispersals('photos', 'A', { limit: 2, after: r2 });
      await ledger.markSegmentsDone(r1, [0]);
      assert.equal(await ledger.commit(r1, 1, new Date(T0)), true);
      assert.equal(await ledger.fail(r3, 'cancelled by its writer', T0), true);
      const after = await ledger.pendingDispersals('photos', 'A', { limit: 10 });

      // Assess
      assert.deepEqual(
        first.records.map((r) => r.revision),
        [r1, r2],
      );
      assert.equal(first.more, true);
      assert.deepEqual(
        second.records.map((r) => r.revision),
        [r3, r4],
      );
      assert.equal(second.records[0]?.dispersing, mine);
      assert.deepEqual(
        after.records.map((r) => r.revision),
        [r2, r4],
      );
      assert.equal(after.more, false);
      assert.equal((await ledger.get(r1))?.dispersing, undefined);
      assert.equal((await ledger.get(r3))?.dispersing, undefined);
      assert.deepEqual(await ledger.pendingDispersals('photos', 'C', { limit: 10 }), {
        records: [],
        more: false,
      });
    });
  });
}

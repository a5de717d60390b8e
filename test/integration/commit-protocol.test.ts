/**
 * The commit protocol under at-least-once, any-order delivery: statuses and unit messages are
 * duplicated, shuffled and delivered concurrently against the real DynamoDB emulators (both,
 * when Java is present). Exactly one commit (or one failure) must come out, with exact tallies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { DynamoLedger } from '../../shared/aws/store/ledger.ts';
import { DynamoObjectIndex } from '../../shared/aws/store/object-index.ts';
import { S3SliceStore } from '../../shared/aws/store/slice-store.ts';
import { systemClock } from '../../shared/clock.ts';
import {
  AssociatedTaskRegistry,
  type CommitterDeps,
  commitWhenDone,
  indexTask,
  recordStatusesOnce,
  recordStatusOnce,
} from '../../shared/store/committer.ts';
import type { UnitStatus } from '../../shared/store/revision.ts';
import { newRevisionId, objectIdOf, type RevisionRecord } from '../../shared/store/revision.ts';
import { storeSlicesOnce } from '../../shared/store/unit.ts';
import {
  dynamoDbEngines,
  type EngineCloud,
  LOCAL_CREDENTIALS,
  startEngineCloud,
} from '../helpers/local-cloud.ts';
import { inlineUnitMessage } from '../helpers/unit-message.ts';

/** Deterministic shuffle, so a failure reproduces. */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

for (const { engine, skip } of await dynamoDbEngines()) {
  describe(`commit protocol on ${engine}`, { skip }, () => {
    let world: EngineCloud;
    let cloud: LocalCloud;
    let deps: CommitterDeps;
    let index: DynamoObjectIndex;
    let db: DynamoDBDocumentClient;
    let commits: number;
    let wholeCommits = 0;
    let failures: number;
    let taskRuns: number;

    before(async () => {
      world = await startEngineCloud(`dsn-protocol-${engine}`, engine);
      ({ cloud, documents: db } = world);
      const real = new DynamoLedger(db, cloud.ref('RevisionsTable'));
      // The real ledger, counting the calls that won their conditional write.
      const ledger = Object.create(real) as DynamoLedger;
      ledger.commit = async (...args) => {
        const won = await real.commit(...args);
        if (won) commits++;
        return won;
      };
      // The one-write commit of a batch that completes the revision counts alike.
      ledger.commitWhole = async (...args) => {
        const won = await real.commitWhole(...args);
        if (won) {
          commits++;
          wholeCommits++;
        }
        return won;
      };
      ledger.fail = async (...args) => {
        const won = await real.fail(...args);
        if (won) failures++;
        return won;
      };
      index = new DynamoObjectIndex(db, cloud.ref('ObjectsTable'));
      const tasks = new AssociatedTaskRegistry()
        .register('index', indexTask({ index, ledger, clock: systemClock }))
        .register('count', async () => {
          taskRuns++;
        });
      deps = { ledger, tasks, clock: systemClock };
    });

    after(async () => {
      await world?.stop();
    });

    const pending = async (segments: number): Promise<RevisionRecord> => {
      const revision = newRevisionId();
      const record: RevisionRecord = {
        revision,
        vault: 'default',
        key: `protocol/${revision}`,
        objectId: objectIdOf('default', `protocol/${revision}`),
        state: 'pending',
        segments,
        size: 100,
        sha256: 'f'.repeat(64),
        segmentSize: 4096,
        readThreshold: 4,
        writeThreshold: 5,
        units: [0, 1, 2, 3, 4, 5],
        doneSegments: 0,
        failedUnits: [],
        createdAt: new Date().toISOString(),
        tasksDone: false,
      };
      await deps.ledger.createPending(record, Date.now() + 60_000);
      return record;
    };

    const statuses = (r: RevisionRecord, segments: number, bad: number[]): UnitStatus[] =>
      Array.from({ length: segments }, (_, segment) =>
        r.units.map((unit, pillar) => ({
          vault: r.vault,
          revision: r.revision,
          segment,
          pillar,
          unit,
          ok: !bad.includes(pillar),
        })),
      ).flat();

    test('duplicated, reordered, concurrent statuses give exactly one commit and exact tallies', async () => {
      for (const seed of [1, 2, 3]) {
        // Prepare: 3 segments, pillar 5 fails everywhere (n - T = 1 is allowed).
        commits = 0;
        taskRuns = 0;
        const r = await pending(3);
        const all = statuses(r, 3, [5]);
        const deliveries = shuffle([...all, ...all, ...all], seed);

        // Act: eight consumers at once, as Lambda's pollers would be.
        for (let i = 0; i < deliveries.length; i += 8) {
          await Promise.all(deliveries.slice(i, i + 8).map((s) => recordStatusOnce(deps, s)));
        }

        // Assess
        const after = await deps.ledger.get(r.revision);
        assert.equal(commits, 1, `seed ${seed}: one commit`);
        assert.equal(after?.state, 'committed');
        assert.equal(after?.doneSegments, 3);
        assert.deepEqual(after?.failedUnits, [5]);
        assert.equal(after?.tasksDone, true);
        assert.ok(taskRuns >= 1);
        assert.equal((await index.get('default', r.key))?.revision, r.revision);
      }
    });

    test('with n - T + 1 failures in one segment the revision fails exactly once and never commits', async () => {
      commits = 0;
      failures = 0;
      const r = await pending(2);
      const all = statuses(r, 2, [1, 4]);
      for (const s of shuffle([...all, ...all], 7)) await recordStatusOnce(deps, s);
      const after = await deps.ledger.get(r.revision);
      assert.equal(after?.state, 'failed');
      assert.equal(failures, 1);
      assert.equal(commits, 0);
      assert.deepEqual(after?.failedUnits, [1, 4]);
      assert.equal(await index.get('default', r.key), undefined);
    });

    test('statuses that arrive before the writer knows the segment count still commit, once', async () => {
      commits = 0;
      const r = await pending(2);
      // The writer has not finished: the count is unknown.
      const { segments: _unknown, ...streaming } = r;
      const r2 = {
        ...streaming,
        revision: newRevisionId(),
        key: `${r.key}-streamed`,
      } as RevisionRecord;
      await deps.ledger.createPending(r2, Date.now() + 60_000);
      // The writer opens each segment before its message goes out.
      for (const segment of [0, 1]) {
        await deps.ledger.openSegment(r2.revision, segment, {
          vault: r2.vault,
          width: r2.units.length,
          writeThreshold: r2.writeThreshold,
        });
      }
      for (const s of statuses(r2, 2, [])) await recordStatusOnce(deps, s);
      assert.equal((await deps.ledger.get(r2.revision))?.state, 'pending');
      const finished = await deps.ledger.finishWriting(r2.revision, {
        segments: 2,
        size: 10,
        sha256: 'e'.repeat(64),
      });
      // The writer's nudge, delivered twice.
      await commitWhenDone(deps, [finished.revision]);
      await commitWhenDone(deps, [finished.revision]);
      assert.equal((await deps.ledger.get(r2.revision))?.state, 'committed');
      assert.equal(commits, 1);
    });

    /** A pending revision whose segments the writer opened, as it does before sending them. */
    const opened = async (segments: number): Promise<RevisionRecord> => {
      const r = await pending(segments);
      for (let segment = 0; segment < segments; segment++) {
        await deps.ledger.openSegment(r.revision, segment, {
          vault: r.vault,
          width: r.units.length,
          writeThreshold: r.writeThreshold,
        });
      }
      return r;
    };

    test('statuses for a segment the revision does not have count nothing, and never commit it', async () => {
      // Prepare: a 2-segment revision whose segment 1 has 1 of T = 5 favorable statuses, and
      // T favorable statuses for a segment 7, both before and after the count is recorded.
      commits = 0;
      failures = 0;
      const r = await opened(2);
      const { segments: _known, ...streaming } = r;
      const early = { ...streaming, revision: newRevisionId(), key: `${r.key}-early` };
      await deps.ledger.createPending(early as RevisionRecord, Date.now() + 60_000);
      for (const segment of [0, 1]) {
        await deps.ledger.openSegment(early.revision, segment, {
          vault: r.vault,
          width: r.units.length,
          writeThreshold: r.writeThreshold,
        });
      }
      const forged = (target: { revision: string }, segment: number, pillars: number[]) =>
        pillars.map((pillar) => ({
          vault: r.vault,
          revision: target.revision,
          segment,
          pillar,
          unit: pillar,
          ok: true,
        }));

      // Act
      for (const rev of [r, early]) {
        await recordStatusesOnce(deps, [
          ...forged(rev, 0, [0, 1, 2, 3, 4]),
          ...forged(rev, 1, [0]),
          ...forged(rev, 7, [0, 1, 2, 3, 4, 5]),
        ]);
      }
      await deps.ledger.finishWriting(early.revision, {
        segments: 2,
        size: 10,
        sha256: 'e'.repeat(64),
      });
      await commitWhenDone(deps, [early.revision]);
      await recordStatusesOnce(deps, forged(early, 7, [0, 1, 2, 3, 4, 5]));

      // Assess: both still pending with one segment done; nothing committed or failed.
      for (const rev of [r, early]) {
        const after = await deps.ledger.get(rev.revision);
        assert.equal(after?.state, 'pending');
        assert.equal(after?.doneSegments, 1);
      }
      assert.equal(commits, 0);
      assert.equal(failures, 0);
    });

    /** Cuts deliveries into batches of 1 to 7, as pollers hand them to the committer. */
    const batches = <T>(items: T[], seed: number): T[][] => {
      const out: T[][] = [];
      let s = seed;
      for (let i = 0; i < items.length; ) {
        s = (s * 1103515245 + 12345) % 2 ** 31;
        const n = 1 + (s % 7);
        out.push(items.slice(i, i + n));
        i += n;
      }
      return out;
    };

    test('opened segments: duplicated, reordered statuses in concurrent batches give one commit and exact tallies', async () => {
      for (const seed of [4, 5, 6]) {
        // Prepare: 3 opened segments, pillar 2 fails everywhere (n - T = 1 is allowed).
        commits = 0;
        taskRuns = 0;
        const r = await opened(3);
        const all = statuses(r, 3, [2]);
        const deliveries = batches(shuffle([...all, ...all, ...all], seed), seed);

        // Act: four batches at once, as several pollers would hand them over.
        for (let i = 0; i < deliveries.length; i += 4) {
          const results = await Promise.all(
            deliveries.slice(i, i + 4).map((b) => recordStatusesOnce(deps, b)),
          );
          for (const result of results.flat()) assert.equal(result.status, 'fulfilled');
        }

        // Assess
        const after = await deps.ledger.get(r.revision);
        assert.equal(commits, 1, `seed ${seed}: one commit`);
        assert.equal(after?.state, 'committed');
        assert.equal(after?.doneSegments, 3);
        assert.deepEqual(after?.failedUnits, [2]);
        assert.equal(after?.tasksDone, true);
        assert.ok(taskRuns >= 1);
        for (let segment = 0; segment < 3; segment++) {
          const { Item } = await db.send(
            new GetCommand({
              TableName: cloud.ref('RevisionsTable'),
              Key: { revision: r.revision, part: `seg#${segment}` },
              ConsistentRead: true,
            }),
          );
          assert.deepEqual(
            [[...(Item?.favorable ?? [])].sort(), [...(Item?.unfavorable ?? [])]],
            [['0', '1', '3', '4', '5'], ['2']],
            `seed ${seed}: segment ${segment} counted each pillar once`,
          );
        }
        assert.equal((await index.get('default', r.key))?.revision, r.revision);
      }
    });

    test('a revision of one segment commits in one write with the batch that reaches T; later and repeated batches, and racing ones, commit nothing more', async () => {
      for (const seed of [7, 8, 9]) {
        // Prepare: one opened segment, its count recorded (as a one-segment PUT records it).
        commits = 0;
        wholeCommits = 0;
        taskRuns = 0;
        const r = await opened(1);
        const [p0, p1, p2, p3, p4, p5] = shuffle(statuses(r, 1, []), seed) as UnitStatus[];

        // Act: four statuses (short of T = 5); then the fifth, twice at once (two pollers with
        // the same redelivered batch); then the sixth and a repeat of everything.
        await recordStatusesOnce(deps, [p0, p1, p2, p3] as UnitStatus[]);
        const afterFour = await deps.ledger.get(r.revision);
        const racing = await Promise.all([
          recordStatusesOnce(deps, [p4 as UnitStatus]),
          recordStatusesOnce(deps, [p4 as UnitStatus]),
        ]);
        await recordStatusesOnce(deps, [p5 as UnitStatus]);
        await recordStatusesOnce(deps, [p0, p1, p2, p3, p4, p5] as UnitStatus[]);

        // Assess
        assert.equal(afterFour?.state, 'pending');
        for (const result of racing.flat()) assert.equal(result.status, 'fulfilled');
        assert.equal(commits, 1, `seed ${seed}: one commit`);
        assert.equal(wholeCommits, 1, `seed ${seed}: the one-write commit`);
        const after = await deps.ledger.get(r.revision);
        assert.equal(after?.state, 'committed');
        assert.equal(after?.doneSegments, 1);
        assert.equal(after?.tasksDone, true);
        assert.equal(taskRuns, 1, `seed ${seed}: the tasks ran once`);
        assert.equal((await index.get('default', r.key))?.revision, r.revision);
      }
      // A batch that brings all six at once (past T) commits in one write too.
      wholeCommits = 0;
      const r = await opened(1);
      await recordStatusesOnce(deps, statuses(r, 1, []));
      assert.equal(wholeCommits, 1);
      assert.equal((await deps.ledger.get(r.revision))?.state, 'committed');
    });

    test('a batch bringing segment 0 of a longer revision to T marks it, and commits only with the rest', async () => {
      // Prepare: two opened segments.
      commits = 0;
      wholeCommits = 0;
      const r = await opened(2);
      const [zero, one] = [0, 1].map((segment) =>
        statuses(r, 2, []).filter((s) => s.segment === segment),
      ) as [UnitStatus[], UnitStatus[]];

      // Act
      await recordStatusesOnce(deps, zero.slice(0, 5));
      const afterZero = await deps.ledger.get(r.revision);
      await recordStatusesOnce(deps, one.slice(0, 5));

      // Assess
      assert.deepEqual([afterZero?.state, afterZero?.doneSegments], ['pending', 1]);
      assert.equal(commits, 1);
      assert.equal(wholeCommits, 0);
      assert.equal((await deps.ledger.get(r.revision))?.state, 'committed');
    });

    test('a step that fails part-way returns its statuses for redelivery, and redelivery commits once', async () => {
      // Prepare: marking segments done fails once, after the tallies were written, whichever
      // write marks them (every segment done in one batch: the one-write commit).
      commits = 0;
      const r = await opened(2);
      const all = statuses(r, 2, []);
      const real = deps.ledger.markSegmentsDone.bind(deps.ledger);
      const realWhole = deps.ledger.commitWhole;
      let failOnce = true;
      const away = () => {
        if (!failOnce) return;
        failOnce = false;
        throw new Error('DynamoDB is briefly away');
      };
      deps.ledger.markSegmentsDone = async (...args) => {
        away();
        return real(...args);
      };
      deps.ledger.commitWhole = async (...args) => {
        away();
        return realWhole(...args);
      };

      try {
        // Act
        const first = await recordStatusesOnce(deps, all);
        const rejected = all.filter((_, i) => first[i]?.status === 'rejected');
        const again = await recordStatusesOnce(deps, rejected);

        // Assess: the failure came back as rejections (nothing lost), and redelivery finished.
        assert.ok(rejected.length > 0);
        assert.ok(again.every((x) => x.status === 'fulfilled'));
        assert.equal((await deps.ledger.get(r.revision))?.state, 'committed');
        assert.equal(commits, 1);
      } finally {
        deps.ledger.markSegmentsDone = real;
        deps.ledger.commitWhole = realWhole;
      }
    });

    test('statuses for an unknown, purged or foreign revision count nothing and leave nothing behind', async () => {
      // Prepare: a revision written and purged, and one of another vault.
      const gone = await opened(1);
      await deps.ledger.fail(gone.revision, 'test', Date.now());
      await deps.ledger.purged(gone.revision);
      const other = await opened(1);
      const unknown = newRevisionId();

      // Act
      const results = await recordStatusesOnce(deps, [
        ...statuses(gone, 1, []),
        ...statuses({ ...gone, revision: unknown }, 1, []),
        ...statuses({ ...other, vault: 'elsewhere' }, 1, []),
      ]);

      // Assess
      assert.ok(results.every((x) => x.status === 'fulfilled'));
      for (const revision of [gone.revision, unknown]) {
        const items = await db.send(
          new QueryCommand({
            TableName: cloud.ref('RevisionsTable'),
            KeyConditionExpression: 'revision = :r',
            ExpressionAttributeValues: { ':r': revision },
          }),
        );
        assert.equal(items.Count, 0, `nothing recreated for ${revision}`);
      }
      const untouched = await deps.ledger.get(other.revision);
      assert.equal(untouched?.state, 'pending');
      assert.equal(untouched?.doneSegments, 0);
    });

    test('a redelivered unit message neither rewrites its slice nor changes the outcome', async () => {
      // Prepare: the real unit bucket, counting writes.
      const puts: string[] = [];
      const creates: string[] = [];
      const statusesSent: UnitStatus[] = [];
      const buckets = cloud.functionEnvironment('api').DSN_UNIT_BUCKETS?.split(',') ?? [];
      const real = new S3SliceStore(
        new S3Client({
          endpoint: cloud.endpoints.s3,
          region: cloud.service.region,
          forcePathStyle: true,
          credentials: LOCAL_CREDENTIALS,
        }),
        buckets,
      );
      const store = Object.create(real) as S3SliceStore;
      store.put = async (...args) => {
        puts.push(args[1]);
        await real.put(...args);
      };
      store.create = async (...args) => {
        const outcome = await real.create(...args);
        creates.push(outcome);
        return outcome;
      };
      const revision = newRevisionId();
      const { message } = inlineUnitMessage(objectIdOf('default', 'dup'), revision);
      const unitDeps = {
        unit: 2,
        slices: store,
        multicast: {
          send: async () => {},
          statuses: async (_a: string, s: UnitStatus[]) => void statusesSent.push(...s),
          nudge: async () => {},
        },
        subscriptions: { addresses: async () => new Set(['vault/default', 'unit/2']) },
        foreign: () => {},
        conflict: () => {},
      };

      // Act
      const delivery = { message, attributeAddress: 'vault/default' };
      await storeSlicesOnce(unitDeps, [delivery]);
      await storeSlicesOnce(unitDeps, [delivery]);
      const [foreign] = await storeSlicesOnce(unitDeps, [
        { message: { ...message, address: 'vault/other' }, attributeAddress: 'vault/other' },
      ]);

      // Assess
      assert.deepEqual(
        creates,
        ['created', 'exists'],
        'stored once; the emulator refused the second',
      );
      assert.deepEqual(puts, [], 'nothing overwritten');
      assert.deepEqual(
        statusesSent.map((s) => s.ok),
        [true, true],
      );
      assert.equal(foreign?.status === 'fulfilled' && foreign.value.ignored, true);
    });
  });
}

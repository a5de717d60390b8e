import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AccessCounter,
  addReads,
  decayed,
  type EdgeGroup,
  EdgeReads,
  edgeOutcome,
  edgeUnitFor,
  inWindow,
  NEIGHBOUR_SHARE,
  parseGroup,
  predictTargets,
  slicesPerUnit,
} from '../../../shared/edge/index.ts';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { silentLogger } from '../../../shared/log.ts';
import type { IndexEntry } from '../../../shared/store/index.ts';
import { planVault } from '../../../shared/store/vault.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryEdgeStore, MemorySliceStore } from '../../helpers/memory/index.ts';

const now = new Date('2026-12-01T12:00:00Z');
const HOUR = 3_600_000;

test('a group names edge units only, each once; a home unit is a 400 naming the entry', () => {
  // Act
  const group = parseGroup('eu-readers', { edgeUnits: [8, 9], budgetBytes: 1000 }, [8, 9], now);
  // Assess
  assert.deepEqual(group.edgeUnits, [8, 9]);
  assert.equal(group.halfLifeSeconds, 86_400);
  const cases: Array<[unknown, unknown, RegExp]> = [
    ['g', { edgeUnits: [8, 3], budgetBytes: 1 }, /edgeUnits\[1\]: unit 3 is not an edge unit/],
    ['g', { edgeUnits: [8, 8], budgetBytes: 1 }, /edgeUnits: must not repeat/],
    ['g', { edgeUnits: [], budgetBytes: 1 }, /edgeUnits/],
    ['g', { edgeUnits: [8] }, /budgetBytes/],
    ['g', { edgeUnits: [8], budgetBytes: 1, colour: 1 }, /colour: is not a group field/],
    [
      'g',
      { edgeUnits: [8], budgetBytes: 1, schedule: { window: { from: '25:00', to: '01:00' } } },
      /HH:MM/,
    ],
    ['bad group!', { edgeUnits: [8], budgetBytes: 1 }, /group: must be 1-64/],
  ];
  for (const [name, body, rule] of cases)
    assert.throws(
      () => parseGroup(name, body, [8, 9], now),
      (err: Error) => err instanceof InvalidParameterError && rule.test(err.message),
      JSON.stringify(body),
    );
});

test('a vault never takes an edge unit, and naming one is refused', () => {
  // Act
  const vault = planVault(
    { name: 'wide', width: 8, readThreshold: 4, writeThreshold: 5 },
    10,
    [],
    now,
    undefined,
    [8, 9],
  );
  // Assess
  assert.deepEqual(vault.units, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.throws(
    () =>
      planVault(
        { name: 'edgy', width: 3, readThreshold: 2, writeThreshold: 2, units: [0, 1, 9] },
        10,
        [],
        now,
        undefined,
        [8, 9],
      ),
    (err: Error) =>
      err instanceof InvalidParameterError &&
      err.field === 'units[2]' &&
      /edge unit/.test(err.message),
  );
  assert.throws(
    () =>
      planVault(
        { name: 'wider', width: 9, readThreshold: 4, writeThreshold: 5 },
        10,
        [],
        now,
        undefined,
        [8, 9],
      ),
    (err: Error) => err instanceof InvalidParameterError && err.field === 'width',
  );
});

test('scores halve every half life, and counts added out of clock order still add up', () => {
  assert.equal(decayed(8, 0, 2 * HOUR, HOUR), 2);
  assert.equal(decayed(8, 2 * HOUR, 0, HOUR), 8);
  const a = addReads(undefined, 4, 0, HOUR);
  const b = addReads(a, 4, HOUR, HOUR);
  assert.deepEqual(b, { score: 6, at: HOUR });
  // A flush stamped earlier than the stored score is decayed to the stored time.
  assert.deepEqual(addReads(b, 2, 0, HOUR), { score: 7, at: HOUR });
});

test('the predictor ranks by decayed score and adds the next key of a series after a hot one', async () => {
  // Prepare
  const scores = [
    { group: 'g', vault: 'v', key: 'show/ep-01', score: 10, at: 0 },
    { group: 'g', vault: 'v', key: 'other/x', score: 8, at: HOUR },
    { group: 'g', vault: 'v', key: 'show/ep-02', score: 1, at: HOUR },
  ];
  const listing = ['other/x', 'other/y', 'show/ep-01', 'show/ep-02', 'show/ep-03'];
  const nextKey = async (_vault: string, prefix: string, after: string) =>
    listing.find((k) => k > after && k.startsWith(prefix));
  // Act
  const targets = await predictTargets(scores, HOUR, HOUR, nextKey);
  // Assess: ep-01 decayed to 5; other/x 8; ep-02 gets half of ep-01's; other/y half of x's.
  assert.deepEqual(
    targets.map((t) => [t.key, t.score]),
    [
      ['other/x', 8],
      ['show/ep-01', 5],
      ['other/y', 8 * NEIGHBOUR_SHARE],
      ['show/ep-02', 5 * NEIGHBOUR_SHARE],
      ['show/ep-03', 1 * NEIGHBOUR_SHARE],
    ],
  );
  assert.deepEqual(targets[3]?.reason, { after: 'show/ep-01' });
});

test('the partial download spreads k slices of a segment so that no edge unit holds k', () => {
  for (const units of [
    [8, 9],
    [8, 9, 10],
  ]) {
    for (const k of [2, 3, 4, 6]) {
      for (let segment = 0; segment < 5; segment++) {
        const held = new Map<number, number>();
        for (let j = 0; j < k; j++) {
          const unit = edgeUnitFor(units, segment, j);
          held.set(unit, (held.get(unit) ?? 0) + 1);
        }
        const most = Math.max(...held.values());
        assert.ok(most < k, `k ${k}, ${units.length} units: one holds ${most}`);
        assert.equal(most, slicesPerUnit(k, units.length));
      }
    }
  }
  // One edge unit: it holds all k, as the issue allows.
  assert.equal(slicesPerUnit(4, 1), 4);
});

test('x-dsn-edge: hit when every segment came from edge slices, partial when some, miss when none', () => {
  assert.equal(edgeOutcome({ edge: 3, home: 0 }), 'hit');
  assert.equal(edgeOutcome({ edge: 2, home: 1 }), 'partial');
  assert.equal(edgeOutcome({ edge: 0, home: 3 }), 'miss');
  assert.equal(edgeOutcome(undefined), 'miss');
});

test('a schedule window bounds staging by time of day, and may wrap midnight', () => {
  const at = (hhmm: string) => new Date(`2026-12-01T${hhmm}:00Z`);
  const night = { bytesPerRun: 1, window: { from: '22:00', to: '06:00' } };
  assert.equal(inWindow(night, at('23:30')), true);
  assert.equal(inWindow(night, at('05:59')), true);
  assert.equal(inWindow(night, at('12:00')), false);
  assert.equal(inWindow({ bytesPerRun: 1 }, at('12:00')), true);
});

test('reads are counted in memory and written once per object per flush, never once per read', async () => {
  // Prepare
  const clock = new ManualClock();
  const writes: string[] = [];
  const group: EdgeGroup = {
    name: 'g',
    edgeUnits: [8],
    budgetBytes: 1,
    halfLifeSeconds: 3600,
    schedule: { bytesPerRun: 1 },
    updatedAt: now.toISOString(),
  };
  const stored = new Map<string, { score: number; at: number }>();
  const counter = new AccessCounter({
    edge: {
      getGroup: async (name) => (name === 'g' ? group : undefined),
      updateScore: async (_g, vault, key, next) => {
        writes.push(`${vault}/${key}`);
        stored.set(`${vault}/${key}`, next(stored.get(`${vault}/${key}`)));
      },
    },
    clock,
    log: silentLogger,
    flushMs: 2000,
    flushReads: 100,
  });
  // Act: 99 reads of two objects stay in memory; the 100th flushes.
  for (let i = 0; i < 99; i++) counter.record('g', 'v', i % 2 ? 'a' : 'b');
  assert.equal(writes.length, 0);
  counter.record('g', 'v', 'a');
  counter.record('unknown', 'v', 'a');
  await counter.flush();
  // Assess
  assert.deepEqual(writes.sort(), ['v/a', 'v/b']);
  assert.equal(stored.get('v/a')?.score, 50);
  assert.equal(stored.get('v/b')?.score, 50);
});

test("a read is counted for a group configured after the instance's list of groups was cached", async () => {
  // Prepare: the instance lists the groups (none yet), then the group is configured.
  const clock = new ManualClock(now.getTime());
  const edge = new MemoryEdgeStore();
  const counter = new AccessCounter({
    edge,
    clock,
    log: silentLogger,
    flushMs: 2000,
    flushReads: 100,
  });
  const reads = new EdgeReads({ edge, slices: new MemorySliceStore(10), counter, clock });
  const entry = { vault: 'v', key: 'a', revision: 'r1' } as IndexEntry;
  assert.equal(await reads.forRead('g', entry), undefined);
  await edge.putGroup(parseGroup('g', { edgeUnits: [8], budgetBytes: 1000 }, [8], now));

  // Act: a read within the list's time to live, then the flush.
  await reads.forRead('g', entry);
  await counter.flush();

  // Assess: both reads counted (the flush reads the group afresh).
  assert.equal((await edge.scores('g')).map((s) => s.score).join(), '2');
});

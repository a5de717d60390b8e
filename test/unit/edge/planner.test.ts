import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { codecFor } from '../../../shared/codec/codecs.ts';
import { encodeSegment } from '../../../shared/codec/segment.ts';
import { encodeSlice, s3Crc32 } from '../../../shared/codec/slice-header.ts';
import { formatSliceName } from '../../../shared/codec/slice-name.ts';
import {
  type EdgeGroup,
  edgeSlicesOf,
  invalidate,
  runPlanner,
  stagedBytesOf,
  writeCounts,
} from '../../../shared/edge/index.ts';
import { silentLogger } from '../../../shared/log.ts';
import type { IndexEntry } from '../../../shared/store/ports.ts';
import { readEntry } from '../../../shared/store/reader.ts';
import { newRevisionId, objectIdOf } from '../../../shared/store/revision.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryLogger } from '../../helpers/logger.ts';
import {
  MemoryEdgeStore,
  MemoryObjectIndex,
  MemoryRepairQueue,
  MemorySliceStore,
} from '../../helpers/memory/index.ts';

const K = 2;
const N = 4;
const SEGMENT = 1000;
const EDGE = [4, 5];

/** Units 0-3 home, 4-5 edge; objects written as the writer would, 2-of-4, 1000-byte segments. */
function world() {
  const clock = new ManualClock();
  const slices = new MemorySliceStore(6, clock);
  const index = new MemoryObjectIndex();
  const edge = new MemoryEdgeStore();
  const bodies = new Map<string, Buffer>();
  const deps = { edge, index, slices, clock, log: silentLogger };
  const write = async (key: string, size: number): Promise<IndexEntry> => {
    const bytes = randomBytes(size);
    const entry: IndexEntry = {
      vault: 'vlt',
      key,
      revision: newRevisionId(clock.now() + bodies.size),
      objectId: objectIdOf('vlt', key),
      size,
      sha256: '',
      segments: Math.ceil(size / SEGMENT),
      segmentSize: SEGMENT,
      readThreshold: K,
      units: [0, 1, 2, 3],
      committedAt: clock.date().toISOString(),
    };
    for (let s = 0; s < entry.segments; s++) {
      const segment = bytes.subarray(s * SEGMENT, (s + 1) * SEGMENT);
      for (const [pillar, payload] of encodeSegment(codecFor(K, N - K), segment).entries()) {
        const name = { ...entry, segment: s, pillar };
        const slice = encodeSlice(
          { name, dataShards: K, parityShards: N - K, segmentLength: segment.length },
          payload,
        );
        await slices.put(pillar, formatSliceName(name), slice, s3Crc32(slice));
      }
    }
    await index.publish(entry);
    bodies.set(key, bytes);
    return entry;
  };
  const group = async (budgetBytes: number, extra: Partial<EdgeGroup> = {}) => {
    await edge.putGroup({
      name: 'g',
      edgeUnits: EDGE,
      budgetBytes,
      halfLifeSeconds: 3600,
      schedule: { bytesPerRun: 1 << 30 },
      updatedAt: clock.date().toISOString(),
      ...extra,
    });
  };
  const reads = (counts: Record<string, number>) =>
    writeCounts(
      edge,
      Object.entries(counts).map(([key, count]) => ({ group: 'g', vault: 'vlt', key, count })),
      clock.now(),
    );
  const stagedKeys = async () => (await edge.listStaged('g')).map((s) => s.key).sort();
  return { clock, slices, index, edge, bodies, deps, write, group, reads, stagedKeys };
}

/** Bytes of the objects' slices on the edge units. */
async function edgeBytes(slices: MemorySliceStore): Promise<number> {
  let bytes = 0;
  for (const unit of EDGE) for await (const o of slices.list(unit, 'edge/')) bytes += o.size;
  return bytes;
}

test('the planner stages the best scores that fit, evicts by score, and never passes the budget', async () => {
  // Prepare: four one-segment objects of the same size; room for two and a half of them.
  const w = world();
  let one = 0;
  for (const key of ['a', 'b', 'c', 'd']) one = stagedBytesOf(await w.write(`solo-${key}/x`, 800));
  const budget = Math.floor(2.5 * one);
  await w.group(budget);
  await w.reads({ 'solo-a/x': 5, 'solo-b/x': 4, 'solo-c/x': 3, 'solo-d/x': 1 });
  // Act
  const first = await runPlanner(w.deps, 'g');
  const before = await w.stagedKeys();
  await w.reads({ 'solo-d/x': 10 });
  const second = await runPlanner(w.deps, 'g');
  // Assess
  assert.deepEqual(before, ['solo-a/x', 'solo-b/x']);
  assert.deepEqual(await w.stagedKeys(), ['solo-a/x', 'solo-d/x']);
  for (const run of [first, second]) {
    const g = run.groups[0];
    assert.ok(g && g.bytesUsed <= g.budgetBytes, JSON.stringify(run));
  }
  assert.ok((await edgeBytes(w.slices)) <= budget);
  assert.equal(second.groups[0]?.evicted, 1);
});

test('a staged object reads from the edge units alone, no edge unit holding k slices of a segment', async () => {
  // Prepare
  const w = world();
  const entry = await w.write('show/ep-1', 2500);
  await w.write('show/ep-2', 1200);
  await w.group(1_000_000);
  await w.reads({ 'show/ep-1': 3 });
  // Act
  await runPlanner(w.deps, 'g');
  // Assess: the next episode is staged too (the neighbour rule).
  assert.deepEqual(await w.stagedKeys(), ['show/ep-1', 'show/ep-2']);
  const staged = await w.edge.getStaged('g', 'vlt', 'show/ep-1');
  assert.ok(staged);
  for (const pairs of staged.slices) {
    assert.equal(pairs.length, K);
    for (const unit of EDGE) assert.ok(pairs.filter(([, u]) => u === unit).length < K);
  }
  // Home units gone: the edge copies alone give the object back.
  class HomeDown extends MemorySliceStore {
    override async get(unit: number, key: string, signal?: AbortSignal) {
      if (unit < 4) throw new Error(`home unit ${unit} down`);
      return super.get(unit, key, signal);
    }
  }
  const down = Object.setPrototypeOf(w.slices, HomeDown.prototype) as MemorySliceStore;
  const edgeCopies = edgeSlicesOf(staged, down);
  const reader = {
    index: w.index,
    slices: down,
    repair: new MemoryRepairQueue(),
    log: silentLogger,
    clock: w.clock,
    hedgeMs: 1000,
  };
  const parts: Uint8Array[] = [];
  for await (const part of readEntry(reader, entry, undefined, edgeCopies)) parts.push(part);
  assert.ok(Buffer.concat(parts).equals(w.bodies.get('show/ep-1') as Buffer));
  assert.deepEqual(edgeCopies.served, { edge: 3, home: 0 });
});

test('a rate per run and a window hold staging back; an overwrite unstages the old revision', async () => {
  // Prepare
  const w = world();
  for (const key of ['a', 'b', 'c']) await w.write(`solo-${key}/x`, 500);
  await w.group(1_000_000, {
    schedule: { bytesPerRun: 1500, window: { from: '00:00', to: '00:30' } },
  });
  await w.reads({ 'solo-a/x': 3, 'solo-b/x': 2, 'solo-c/x': 1 });
  // Act, Assess: the clock starts at 00:00 UTC, inside the window; 1500 bytes a run stage two.
  const first = await runPlanner(w.deps, 'g');
  assert.equal(first.groups[0]?.staged, 2);
  assert.equal(first.groups[0]?.deferred, 1);
  w.clock.advance(60 * 60 * 1000);
  const outside = await runPlanner(w.deps, 'g');
  assert.equal(outside.groups[0]?.staged, 0);
  assert.match(outside.groups[0]?.note ?? '', /outside the window/);
  // An overwrite: the committer's task removes the old revision's copies.
  const old = await w.edge.getStaged('g', 'vlt', 'solo-a/x');
  w.clock.advance(1000);
  await w.write('solo-a/x', 500);
  assert.equal(await invalidate(w.deps, 'vlt', 'solo-a/x'), 1);
  assert.equal(await invalidate(w.deps, 'vlt', 'solo-a/x'), 0);
  assert.equal(await w.edge.getStaged('g', 'vlt', 'solo-a/x'), undefined);
  let left = 0;
  for (const unit of EDGE)
    for await (const o of w.slices.list(unit, 'edge/'))
      if (o.key.includes(`/${old?.revision}/`)) left++;
  assert.equal(left, 0);
});

test('an edge unit that refuses a copy leaves the object unstaged and no slice behind', async () => {
  // Prepare
  const w = world();
  await w.write('solo-a/x', 2500);
  await w.group(1_000_000);
  await w.reads({ 'solo-a/x': 3 });
  class EdgeFull extends MemorySliceStore {
    override async put(unit: number, key: string, body: Uint8Array, crc32: string) {
      if (unit === 5) throw new Error('unit 5 is full');
      return super.put(unit, key, body, crc32);
    }
  }
  Object.setPrototypeOf(w.slices, EdgeFull.prototype);
  // Act
  const run = await runPlanner(w.deps, 'g');
  // Assess
  assert.equal(run.groups[0]?.staged, 0);
  assert.equal(run.groups[0]?.refused, 1);
  assert.deepEqual(await w.stagedKeys(), []);
  assert.equal(await edgeBytes(w.slices), 0);
});

test('with no edge group, an overwrite or delete unstages nothing and does not read the index', async () => {
  // Prepare: no group configured; an index that counts its reads.
  const w = world();
  await w.write('k', 300);
  let reads = 0;
  const index = Object.assign(Object.create(w.index), {
    get: async (...args: Parameters<MemoryObjectIndex['get']>) => {
      reads++;
      return w.index.get(...args);
    },
  }) as MemoryObjectIndex;

  // Act
  const removed = await invalidate({ ...w.deps, index }, 'vlt', 'k');

  // Assess
  assert.equal(removed, 0);
  assert.equal(reads, 0);
});

test("an object larger than a run's bytes is refused, said in the run and the log, not deferred for good; the others stage", async () => {
  // Prepare: a hot object of 3000 bytes and a cooler one of 500, with 1500 bytes a run.
  const w = world();
  await w.write('big/x', 3000);
  await w.write('solo-b/x', 500);
  await w.group(1_000_000, { schedule: { bytesPerRun: 1500 } });
  await w.reads({ 'big/x': 5, 'solo-b/x': 2 });
  const log = new MemoryLogger();

  // Act
  const run = await runPlanner({ ...w.deps, log }, 'g');

  // Assess
  assert.deepEqual(await w.stagedKeys(), ['solo-b/x']);
  assert.deepEqual(
    [run.groups[0]?.staged, run.groups[0]?.refused, run.groups[0]?.deferred],
    [1, 1, 0],
  );
  assert.ok(
    log.lines.some(
      (l) => /larger than a run may copy/.test(l.message) && l.fields?.key === 'big/x',
    ),
  );
});

test('scores decayed past counting are removed by the planner, unless a read came meanwhile', async () => {
  // Prepare: three objects read once; a half life of an hour.
  const w = world();
  for (const key of ['a', 'b', 'c']) await w.write(`solo-${key}/x`, 500);
  await w.group(1_000_000);
  await w.reads({ 'solo-a/x': 1, 'solo-b/x': 1, 'solo-c/x': 1 });
  const fresh = await runPlanner(w.deps, 'g');
  // Eleven half lives on, a and b are below the least score that predicts anything; c is read.
  w.clock.advance(11 * 3600 * 1000);
  await w.reads({ 'solo-c/x': 1 });
  const stale = await w.edge.scores('g');
  // A flush between the planner's read of the scores and its delete: b's counts must stay.
  const deleteScore = w.edge.deleteScore.bind(w.edge);
  w.edge.deleteScore = async (s) => {
    if (s.key === 'solo-b/x') await w.reads({ 'solo-b/x': 1 });
    return deleteScore(s);
  };

  // Act
  const run = await runPlanner(w.deps, 'g');

  // Assess
  assert.equal(stale.length, 3);
  assert.equal(fresh.groups[0]?.scoresPruned, 0);
  assert.equal(run.groups[0]?.scoresPruned, 1);
  assert.deepEqual(
    (await w.edge.scores('g')).map((s) => s.key).sort(),
    ['solo-b/x', 'solo-c/x'],
    "a's score is gone; b's, read meanwhile, and c's stay",
  );
});

test("copies a staging cut off before its record are swept once an hour old, and a staged object's never are", async () => {
  // Prepare: one object staged; another's copies placed as a staging cut off before its record
  // leaves them (the store refuses the record).
  const w = world();
  await w.write('solo-a/x', 500);
  await w.write('solo-b/x', 500);
  await w.group(1_000_000);
  await w.reads({ 'solo-a/x': 5 });
  await runPlanner(w.deps, 'g');
  const putStaged = w.edge.putStaged.bind(w.edge);
  w.edge.putStaged = async () => {
    throw new Error('the planner was stopped here');
  };
  await w.reads({ 'solo-b/x': 9 });
  await assert.rejects(runPlanner(w.deps, 'g'), /the planner was stopped here/);
  w.edge.putStaged = putStaged;
  const copiesOf = async (key: string) => {
    const { objectId } = (await w.index.get('vlt', key)) as IndexEntry;
    let n = 0;
    for (const unit of EDGE)
      for await (const o of w.slices.list(unit, 'edge/g/'))
        if (o.key.includes(`/${objectId}/`)) n++;
    return n;
  };
  const strays = await copiesOf('solo-b/x');
  // b's reads fade, so nothing stages it again; a stays hot.
  await w.edge.deleteScore((await w.edge.scores('g')).find((s) => s.key === 'solo-b/x') as never);

  // Act: runs within the hour, then one past it.
  w.clock.advance(30 * 60 * 1000);
  const early = await runPlanner(w.deps, 'g');
  w.clock.advance(31 * 60 * 1000);
  await w.reads({ 'solo-a/x': 1 });
  const late = await runPlanner(w.deps, 'g');

  // Assess
  assert.ok(strays > 0, 'the cut-off staging left copies');
  assert.equal(early.groups[0]?.straysRemoved, 0, 'not yet an hour old, and not yet due');
  assert.equal(late.groups[0]?.straysRemoved, strays);
  assert.equal(await copiesOf('solo-b/x'), 0);
  assert.ok((await copiesOf('solo-a/x')) > 0, "the staged object's copies stay");
  assert.deepEqual(await w.stagedKeys(), ['solo-a/x']);
});

test("a run of one group carries the other groups' last sweep of strays on", async () => {
  // Prepare: two groups, both swept by a run of every group.
  const w = world();
  await w.write('solo-a/x', 500);
  await w.group(1_000_000);
  await w.edge.putGroup({
    name: 'h',
    edgeUnits: EDGE,
    budgetBytes: 1_000_000,
    halfLifeSeconds: 3600,
    schedule: { bytesPerRun: 1 << 30 },
    updatedAt: w.clock.date().toISOString(),
  });
  const first = await runPlanner(w.deps);
  const sweptAt = first.groups.find((g) => g.group === 'h')?.strayCheckAt;

  // Act: a run of g alone, then one of every group, both within the hour.
  w.clock.advance(20 * 60 * 1000);
  const alone = await runPlanner(w.deps, 'g');
  w.clock.advance(20 * 60 * 1000);
  const every = await runPlanner(w.deps);

  // Assess: h was not swept again before its hour was up.
  assert.ok(sweptAt);
  assert.equal(alone.strayChecks?.h, sweptAt, "g's run keeps h's last sweep");
  assert.equal(every.groups.find((g) => g.group === 'h')?.strayCheckAt, sweptAt);
  assert.equal(every.groups.find((g) => g.group === 'g')?.strayCheckAt, sweptAt);
  assert.deepEqual(Object.keys(every.strayChecks ?? {}).sort(), ['g', 'h']);
});

test('an edge unit that hangs costs a hedge to the home units, not the read: the segment is read on from home parity', async () => {
  // Prepare: an object staged for the group; edge unit 5 then answers nothing until cancelled.
  const w = world();
  const entry = await w.write('show/ep-1', 2500);
  await w.group(1_000_000);
  await w.reads({ 'show/ep-1': 3 });
  await runPlanner(w.deps, 'g');
  const staged = await w.edge.getStaged('g', 'vlt', 'show/ep-1');
  assert.ok(staged);
  class EdgeHangs extends MemorySliceStore {
    override async get(unit: number, key: string, signal?: AbortSignal) {
      if (unit === 5)
        return new Promise<Uint8Array>((_, reject) =>
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true }),
        );
      return super.get(unit, key, signal);
    }
  }
  const hanging = Object.setPrototypeOf(w.slices, EdgeHangs.prototype) as MemorySliceStore;
  const edgeCopies = edgeSlicesOf(staged, hanging);
  const repair = new MemoryRepairQueue();
  const reader = {
    index: w.index,
    slices: hanging,
    repair,
    log: silentLogger,
    clock: w.clock,
    hedgeMs: 20,
  };

  // Act: within 5 s, or the read is taken for stuck.
  const parts: Uint8Array[] = [];
  const read = (async () => {
    for await (const part of readEntry(reader, entry, undefined, edgeCopies)) parts.push(part);
  })();
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('the read waited on the hanging edge unit')), 5000);
  });
  try {
    await Promise.race([read, stuck]);
  } finally {
    clearTimeout(timer);
  }

  // Assess: exact; segments that needed unit 5 came partly from home; nothing reported.
  assert.ok(Buffer.concat(parts).equals(w.bodies.get('show/ep-1') as Buffer));
  assert.ok(edgeCopies.served.home > 0, JSON.stringify(edgeCopies.served));
  assert.equal(edgeCopies.served.edge + edgeCopies.served.home, entry.segments);
  assert.deepEqual(await repair.receive(10), []);
});

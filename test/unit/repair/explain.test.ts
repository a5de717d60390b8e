import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodeSlice,
  formatSliceName,
  s3Crc32,
  sliceNamesOf,
} from '../../../shared/codec/index.ts';
import { type ExplainDeps, explainObject } from '../../../shared/repair/index.ts';
import type { IndexEntry } from '../../../shared/store/index.ts';
import { type ProposalState, type Topology, topologyId } from '../../../shared/topology/index.ts';
import { MemoryObjectIndex, MemorySliceStore } from '../../helpers/memory/index.ts';
import { MemoryTopologyStore } from '../../helpers/memory/topology.ts';

const VAULT = 'photos';

function topology(units: number[], parent: string | null): Topology {
  return {
    vault: VAULT,
    parent,
    units: units.map((unit) => ({ unit, bucket: `b${unit}`, region: 'r', endpoint: '' })),
    width: units.length,
    readThreshold: 2,
    writeThreshold: Math.min(3, units.length),
    segmentSize: 65536,
  };
}

/** Stores `t` with `state` and returns its id. */
async function store(topologies: MemoryTopologyStore, t: Topology, state: ProposalState) {
  const id = topologyId(t);
  await topologies.put({
    vault: VAULT,
    id,
    topology: t,
    state,
    votes: [],
    refusals: [],
    createdAt: '2026-12-01T00:00:00.000Z',
  });
  return id;
}

function entry(units: number[], written?: string): IndexEntry {
  return {
    vault: VAULT,
    key: 'a.jpg',
    revision: '000000000a0000000000000000',
    objectId: 'a'.repeat(22),
    size: 4,
    sha256: 'x',
    segments: 1,
    segmentSize: 65536,
    readThreshold: 2,
    units,
    committedAt: '2026-12-01T00:00:00.000Z',
    ...(written === undefined ? {} : { topology: written }),
  };
}

/** Puts every pillar's slice of `e`'s one segment on the unit `e` names for it. */
async function putSlices(slices: MemorySliceStore, e: IndexEntry) {
  for (const [pillar, unit] of e.units.entries()) {
    const name = sliceNamesOf(e)(0, pillar);
    const slice = encodeSlice(
      { name, dataShards: 2, parityShards: e.units.length - 2, segmentLength: 4 },
      new Uint8Array([pillar, pillar]),
    );
    await slices.put(unit, formatSliceName(name), slice, s3Crc32(slice));
  }
}

function world() {
  const index = new MemoryObjectIndex();
  const slices = new MemorySliceStore(8);
  const topologies = new MemoryTopologyStore();
  topologies.vaults.set(VAULT, {});
  const deps: ExplainDeps = { index, slices, bucketOf: (u) => `b${u}`, topologies };
  return { index, slices, topologies, deps };
}

test('explain shows each pillar under the topology it was written under and the current one, before and after pillar 3 is relocated', async () => {
  // Prepare: written under A (units 0..3); unit 3 replaced by 7, so B is current.
  const { index, slices, topologies, deps } = world();
  const a = await store(topologies, topology([0, 1, 2, 3], null), 'superseded');
  const b = await store(topologies, topology([0, 1, 2, 7], a), 'current');
  topologies.vaults.set(VAULT, { id: b, since: 1 });
  const written = entry([0, 1, 2, 3], a);
  await index.publish(written);
  await putSlices(slices, written);

  // Act: before the job relocates pillar 3, then after.
  const before = await explainObject(deps, VAULT, 'a.jpg');
  const relocated = { ...written, units: [0, 1, 2, 7] };
  await index.publish(relocated);
  await putSlices(slices, relocated);
  const after = await explainObject(deps, VAULT, 'a.jpg');

  // Assess
  const listed = [
    { id: a, state: 'superseded', units: [0, 1, 2, 3] },
    { id: b, state: 'current', units: [0, 1, 2, 7] },
  ];
  for (const e of [before, after]) {
    assert.equal(e.topology, a);
    assert.deepEqual(e.topologies, listed);
    assert.equal(e.verdict, 'healthy');
    const pillars = e.segments[0]?.pillars ?? [];
    assert.deepEqual(
      pillars.map((p) => p.units),
      [
        { [a]: 0, [b]: 0 },
        { [a]: 1, [b]: 1 },
        { [a]: 2, [b]: 2 },
        { [a]: 3, [b]: 7 },
      ],
    );
  }
  const p3 = (e: typeof before) => e.segments[0]?.pillars[3];
  assert.deepEqual([p3(before)?.unit, p3(before)?.bucket], [3, 'b3']);
  assert.deepEqual([p3(after)?.unit, p3(after)?.bucket], [7, 'b7']);
});

test('explain lists a revision written under the current topology once', async () => {
  // Prepare
  const { index, slices, topologies, deps } = world();
  const a = await store(topologies, topology([0, 1, 2, 3], null), 'current');
  topologies.vaults.set(VAULT, { id: a, since: 1 });
  const written = entry([0, 1, 2, 3], a);
  await index.publish(written);
  await putSlices(slices, written);

  // Act
  const e = await explainObject(deps, VAULT, 'a.jpg');

  // Assess
  assert.deepEqual(e.topologies, [{ id: a, state: 'current', units: [0, 1, 2, 3] }]);
  assert.deepEqual(e.segments[0]?.pillars[3]?.units, { [a]: 3 });
});

test('a revision without a topology id shows the current topology only, and none while the vault has none', async () => {
  // Prepare: written before the vault had topologies.
  const { index, slices, topologies, deps } = world();
  const written = entry([0, 1, 2, 3]);
  await index.publish(written);
  await putSlices(slices, written);

  // Act: the vault has no topology yet; then it has its genesis.
  const none = await explainObject(deps, VAULT, 'a.jpg');
  const g = await store(topologies, topology([0, 1, 2, 3], null), 'current');
  topologies.vaults.set(VAULT, { id: g, since: 1 });
  const genesis = await explainObject(deps, VAULT, 'a.jpg');

  // Assess
  assert.equal(none.topology, undefined);
  assert.deepEqual(none.topologies, []);
  assert.deepEqual(none.segments[0]?.pillars[0]?.units, {});
  assert.equal(none.verdict, 'healthy');
  assert.equal(genesis.topology, undefined);
  assert.deepEqual(genesis.topologies, [{ id: g, state: 'current', units: [0, 1, 2, 3] }]);
  assert.deepEqual(genesis.segments[0]?.pillars[2]?.units, { [g]: 2 });
});

test('a pillar a narrower current topology lacks maps only under the topology it was written under', async () => {
  // Prepare: written 2-of-4 under A; the vault re-striped to 2-of-3 under B.
  const { index, slices, topologies, deps } = world();
  const a = await store(topologies, topology([0, 1, 2, 3], null), 'superseded');
  const b = await store(topologies, topology([4, 5, 6], a), 'current');
  topologies.vaults.set(VAULT, { id: b, since: 1 });
  const written = entry([0, 1, 2, 3], a);
  await index.publish(written);
  await putSlices(slices, written);

  // Act
  const e = await explainObject(deps, VAULT, 'a.jpg');

  // Assess
  assert.deepEqual(
    e.segments[0]?.pillars.map((p) => p.units),
    [{ [a]: 0, [b]: 4 }, { [a]: 1, [b]: 5 }, { [a]: 2, [b]: 6 }, { [a]: 3 }],
  );
});

test('explain without the topology store lists no topologies, as before', async () => {
  // Prepare
  const { index, slices, deps } = world();
  const written = entry([0, 1, 2, 3]);
  await index.publish(written);
  await putSlices(slices, written);
  const { topologies: _, ...plain } = deps;

  // Act
  const e = await explainObject(plain, VAULT, 'a.jpg');

  // Assess
  assert.equal('topologies' in e, false);
  assert.equal('units' in (e.segments[0]?.pillars[0] ?? {}), false);
});

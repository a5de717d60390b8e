import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../../../shared/clock.ts';
import {
  encodeSlice,
  formatSliceName,
  s3Crc32,
  sliceNamesOf,
} from '../../../shared/codec/index.ts';
import { Throttle } from '../../../shared/repair/index.ts';
import type { IndexEntry, ReaderDeps, WriterDeps } from '../../../shared/store/index.ts';
import {
  type MoverDeps,
  runTopologyJobStep,
  type TopologyJob,
} from '../../../shared/topology/index.ts';
import { newTopologyJob } from '../../../shared/topology/topology-job.ts';
import { MemoryLogger } from '../../helpers/logger.ts';
import { MemoryObjectIndex, MemorySliceStore } from '../../helpers/memory/index.ts';

/** A clock whose sleeps pass at once, moving its time on by as much. */
class SkippingClock implements Clock {
  at = Date.parse('2026-12-01T00:00:00Z');
  now = () => this.at;
  date = () => new Date(this.at);
  sleep = async (ms: number) => {
    this.at += ms;
  };
}

const VAULT = 'photos';
const FROM = 3;
const TO = 7;

function entry(key: string): IndexEntry {
  return {
    vault: VAULT,
    key,
    revision: `000000000${key}0000000000000000`,
    objectId: key.repeat(22),
    size: 4,
    sha256: 'x',
    segments: 1,
    segmentSize: 65536,
    readThreshold: 2,
    units: [0, 1, 2, FROM],
    committedAt: '2026-12-01T00:00:00.000Z',
  };
}

test('a replace moves up to its lanes of objects at once, and its checkpoint never passes an object still moving', {
  timeout: 10_000,
}, async () => {
  // Prepare: 8 objects whose pillar 3 is on unit 3; the first object's read hangs until every
  // other object has moved, so the later ones overtake it.
  const clock = new SkippingClock();
  const index = new MemoryObjectIndex();
  const store = new MemorySliceStore(8, clock);
  const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  for (const key of keys) {
    const e = entry(key);
    await index.publish(e);
    const name = sliceNamesOf(e)(0, 3);
    const slice = encodeSlice(
      { name, dataShards: 2, parityShards: 2, segmentLength: 4 },
      new Uint8Array([1, 2]),
    );
    await store.put(FROM, formatSliceName(name), slice, s3Crc32(slice));
  }
  let inFlight = 0;
  let most = 0;
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const moved = new Set<string>();
  const slices: MoverDeps['slices'] = Object.assign(Object.create(store), {
    get: async (unit: number, key: string) => {
      most = Math.max(most, ++inFlight);
      try {
        if (key.includes(`/${'a'.repeat(22)}/`)) await gate;
        return await store.get(unit, key);
      } finally {
        inFlight--;
      }
    },
  });
  const saves: Array<{ after?: string; moved: string[] }> = [];
  let job: TopologyJob = newTopologyJob({
    vault: VAULT,
    id: 'new',
    from: 'old',
    kind: 'replace',
    move: { from: FROM, to: TO },
    since: clock.now(),
    now: clock.now(),
  });
  const deps: MoverDeps = {
    index,
    slices,
    manifests: {
      relocate: async (e, units) => {
        await index.publish({ ...e, units });
        moved.add(e.key);
        if (moved.size === keys.length - 1) release();
        return true;
      },
    },
    jobs: {
      get: async () => structuredClone(job),
      start: async (j) => j,
      lease: async () => true,
      save: async (j) => {
        job = structuredClone(j);
        if (j.phase === 'move')
          saves.push({ ...(j.cursor?.after ? { after: j.cursor.after } : {}), moved: [...moved] });
        return true;
      },
    },
    trigger: { continue: async () => {} },
    reader: {} as ReaderDeps,
    writer: {} as WriterDeps,
    throttle: new Throttle(0),
    clock,
    log: new MemoryLogger(),
    lanes: 3,
  };

  // Act
  const out = await runTopologyJobStep(deps, VAULT, 'new', Number.POSITIVE_INFINITY);

  // Assess
  assert.equal(out.job?.state, 'done');
  assert.equal(out.job?.objectsDone, keys.length);
  assert.equal(most, 3, 'the lanes ran side by side, no more than 3 at once');
  for (const key of keys) {
    assert.deepEqual((await index.get(VAULT, key))?.units, [0, 1, 2, TO], key);
    assert.equal(
      await store.head(FROM, formatSliceName(sliceNamesOf(entry(key))(0, 3))),
      undefined,
    );
  }
  const whileBlocked = saves.filter((s) => !s.moved.includes('a'));
  assert.ok(whileBlocked.length >= keys.length - 1, 'later objects were checkpointed meanwhile');
  for (const s of saves) {
    for (const key of keys.filter((k) => s.after !== undefined && k <= s.after))
      assert.ok(s.moved.includes(key), `checkpoint after "${s.after}" while "${key}" was moving`);
  }
  assert.ok(
    whileBlocked.every((s) => s.after === undefined),
    'no checkpoint passed "a" while it moved',
  );
});

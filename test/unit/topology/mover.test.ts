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
  resumeTopologyJobs,
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

/**
 * The writer's vaults, as the mover reads them: the vault on topology `topology()`, its layout
 * the replace's (pillar 3 on unit TO).
 */
function vaultsOn(topology: () => string): WriterDeps {
  return {
    vaults: {
      list: async () => [{ name: VAULT }],
      get: async () => ({
        name: VAULT,
        topology: topology(),
        units: [0, 1, 2, TO],
        readThreshold: 2,
        segmentSize: 65536,
      }),
    },
  } as unknown as WriterDeps;
}

/**
 * A mover's deps over `index`, `slices` and `jobs`: no trigger, no reader, the vault on the
 * replace's topology, no throttle, and `clock`; `over` replaces any of them.
 */
function moverDeps(
  parts: Pick<MoverDeps, 'index' | 'slices' | 'jobs' | 'manifests'> & { clock: Clock },
  over: Partial<MoverDeps> = {},
): MoverDeps {
  return {
    trigger: { continue: async () => {} },
    reader: {} as ReaderDeps,
    writer: vaultsOn(() => 'new'),
    throttle: new Throttle(0),
    log: new MemoryLogger(),
    ...parts,
    ...over,
  };
}

/** The job of a replace of unit FROM by TO, begun `since` (epoch ms) and now. */
function replaceJob(clock: Clock, since: number): TopologyJob {
  return newTopologyJob({
    vault: VAULT,
    id: 'new',
    from: 'old',
    kind: 'replace',
    move: { from: FROM, to: TO },
    since,
    now: clock.now(),
  });
}

/** Indexes `e` and stores its pillar 3 slice of segment 0 on unit FROM. */
async function placeOnFrom(index: MemoryObjectIndex, store: MemorySliceStore, e: IndexEntry) {
  await index.publish(e);
  const name = sliceNamesOf(e)(0, 3);
  const slice = encodeSlice(
    { name, dataShards: 2, parityShards: 2, segmentLength: 4 },
    new Uint8Array([1, 2]),
  );
  await store.put(FROM, formatSliceName(name), slice, s3Crc32(slice));
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
  for (const key of keys) await placeOnFrom(index, store, entry(key));
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
  let job: TopologyJob = replaceJob(clock, clock.now());
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
      noteLateWrite: async () => {},
      reopen: async () => false,
      save: async (j) => {
        job = structuredClone(j);
        if (j.phase === 'move')
          saves.push({ ...(j.cursor?.after ? { after: j.cursor.after } : {}), moved: [...moved] });
        return true;
      },
    },
    trigger: { continue: async () => {} },
    reader: {} as ReaderDeps,
    writer: vaultsOn(() => 'new'),
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

/**
 * A topology job store in memory, as DynamoTopologyJobStore keeps it: the job, its runnable
 * state beside it (what a lease needs), and the late-write note beside both, out of a save's reach.
 */
function memoryJobs(initial: TopologyJob) {
  let job = structuredClone(initial);
  let runnable = job.state;
  let lateWrites: number | undefined;
  const store: MoverDeps['jobs'] = {
    get: async () => ({
      ...structuredClone(job),
      ...(lateWrites === undefined ? {} : { lateWrites }),
    }),
    start: async (j) => j,
    lease: async () => runnable === 'running',
    save: async (j) => {
      job = structuredClone(j);
      runnable = j.state;
      return true;
    },
    noteLateWrite: async (_vault, id) => {
      if (id === job.id) lateWrites = (lateWrites ?? 0) + 1;
    },
    reopen: async (_vault, id) => {
      const due =
        id === job.id && job.state === 'done' && (lateWrites ?? 0) > (job.seenLateWrites ?? 0);
      if (due) runnable = 'running';
      return due;
    },
  };
  return { store, job: () => job };
}

test('a write under the old topology indexed late, after the job ended: the note reopens the job, which moves it and sweeps again', async () => {
  // Prepare: a replace of unit 3 by 7 run to its end over one object.
  const clock = new SkippingClock();
  const index = new MemoryObjectIndex();
  const store = new MemorySliceStore(8, clock);
  const place = (e: IndexEntry) => placeOnFrom(index, store, e);
  await place(entry('a'));
  const jobs = memoryJobs(replaceJob(clock, clock.now()));
  const triggered: string[] = [];
  const deps = moverDeps(
    {
      index,
      slices: store,
      manifests: {
        relocate: async (e, units) => {
          await index.publish({ ...e, units });
          return true;
        },
      },
      jobs: jobs.store,
      clock,
    },
    {
      trigger: { continue: async (vault) => void triggered.push(vault) },
      writer: vaultsOn(() => current),
    },
  );
  /** The vault's current topology, as a fresh read gives it. */
  let current = 'new';
  const first = await runTopologyJobStep(deps, VAULT, 'new', Number.POSITIVE_INFINITY);
  assert.equal(first.job?.state, 'done');
  const passesBefore = first.job?.passes ?? 0;

  // Act: a write under the old topology reaches the index now, on unit 3, and the committer
  // notes it; the one-minute schedule runs, then the step it asks for.
  // A slice of another write of the vault was left on unit 3 too (not indexed): the sweep's.
  clock.at += 60_000;
  await place(entry('b'));
  const stray = formatSliceName(sliceNamesOf(entry('c'))(0, 3));
  await store.put(FROM, stray, new Uint8Array([9]), s3Crc32(new Uint8Array([9])));
  await jobs.store.noteLateWrite(VAULT, 'new');
  const resumed = await resumeTopologyJobs(deps);
  const lostTrigger = await resumeTopologyJobs(deps);
  current = 'newer';
  const movedOn = await runTopologyJobStep(deps, VAULT, 'new', Number.POSITIVE_INFINITY);
  current = 'new';
  const again = await runTopologyJobStep(deps, VAULT, 'new', Number.POSITIVE_INFINITY);

  // Assess: reopened (asked again while no step took it up), not while the vault was on a newer
  // topology; then it moved the late object, swept unit 3 again, and ended once more.
  assert.deepEqual(resumed, [VAULT]);
  assert.deepEqual(lostTrigger, [VAULT], 'a trigger lost is sent again');
  assert.deepEqual(triggered, [VAULT, VAULT]);
  assert.equal(movedOn.more, false);
  assert.equal(movedOn.job, undefined, 'a newer topology: not reopened');
  assert.equal(await store.head(FROM, stray), undefined, 'swept again');
  assert.equal(again.job?.state, 'done');
  assert.ok((again.job?.passes ?? 0) > passesBefore, 'another pass');
  assert.deepEqual((await index.get(VAULT, 'b'))?.units, [0, 1, 2, TO]);
  assert.equal(await store.head(FROM, formatSliceName(sliceNamesOf(entry('b'))(0, 3))), undefined);
  assert.deepEqual(await resumeTopologyJobs(deps), [], 'covered: not reopened again');
});

test('a late write noted while a job runs keeps a pass begun before it from ending the job', async () => {
  // Prepare: a re-stripe-free replace with nothing to move, whose first pass is noted against
  // mid-way (the note lands between its start and its end).
  const clock = new SkippingClock();
  const index = new MemoryObjectIndex();
  const jobs = memoryJobs(replaceJob(clock, clock.now() - 60_000));
  const list = index.list.bind(index);
  let lists = 0;
  const deps = moverDeps({
    index: Object.assign(Object.create(index), {
      list: async (...args: Parameters<typeof index.list>) => {
        const page = await list(...args);
        // The first listing is the count's; the second, the first pass's.
        if (++lists === 2) {
          clock.at += 1;
          await jobs.store.noteLateWrite(VAULT, 'new');
        }
        return page;
      },
    }),
    slices: new MemorySliceStore(8, clock),
    manifests: { relocate: async () => true },
    jobs: jobs.store,
    clock,
  });

  // Act
  const out = await runTopologyJobStep(deps, VAULT, 'new', Number.POSITIVE_INFINITY);

  // Assess: the first pass saw the note come after it began; a later pass ended the job.
  assert.equal(out.job?.state, 'done');
  assert.ok((out.job?.passes ?? 0) >= 2, `passes ${out.job?.passes}`);
  assert.deepEqual(
    [out.job?.lateWrites, out.job?.seenLateWrites],
    [1, 1],
    'the last pass began after the note',
  );
});

/**
 * A running replace of FROM by TO on the vault's layout ([0, 1, 2, TO], begun a minute ago)
 * over `index` and `store`, its relocations recorded; `jobs` is its job store.
 */
function replaceRun(index: MemoryObjectIndex, store: MemorySliceStore, clock: SkippingClock) {
  const relocations: number[][] = [];
  const job = replaceJob(clock, clock.now() - 60_000);
  const deps = moverDeps({
    index,
    slices: store,
    manifests: {
      relocate: async (e, units) => {
        relocations.push(units);
        await index.publish({ ...e, units });
        return true;
      },
    },
    jobs: memoryJobs(job).store,
    clock,
  });
  return { deps, relocations };
}

/**
 * The vault moved 5 -> 2 (pillar 2), then 3 -> 7 (pillar 3): its layout is [0, 1, 2, 7]. An
 * object written before both is indexed now with units [0, 1, 5, 3], its pillar 2 slice on
 * unit 5 and its pillar 3 slice on unit FROM.
 */
async function twoTopologiesBack() {
  const clock = new SkippingClock();
  const index = new MemoryObjectIndex();
  const store = new MemorySliceStore(8, clock);
  const late: IndexEntry = { ...entry('w'), units: [0, 1, 5, FROM] };
  await placeOnFrom(index, store, late);
  const pillar2 = formatSliceName(sliceNamesOf(late)(0, 2));
  const bytes2 = encodeSlice(
    { name: sliceNamesOf(late)(0, 2), dataShards: 2, parityShards: 2, segmentLength: 4 },
    new Uint8Array([3, 4]),
  );
  await store.put(5, pillar2, bytes2, s3Crc32(bytes2));
  return { clock, index, store, late, pillar2, bytes2 };
}

test('a write two topologies back indexed late (an earlier replace of unit 5 by 2 ended before it): the current replace moves both its stray pillars, in one relocation', async () => {
  // Prepare: the vault moved 5 -> 2 (pillar 2), then 3 -> 7 (pillar 3): its layout is
  // [0, 1, 2, 7]. An object written before both is indexed now with units [0, 1, 5, 3].
  const { clock, index, store, late, pillar2, bytes2 } = await twoTopologiesBack();
  const { deps, relocations } = replaceRun(index, store, clock);

  // Act
  const out = await runTopologyJobStep(deps, VAULT, 'new', Number.POSITIVE_INFINITY);

  // Assess: both pillars where the layout puts them, their old copies gone.
  assert.equal(out.job?.state, 'done');
  assert.deepEqual(relocations, [[0, 1, 2, TO]], 'one relocation, both pillars');
  assert.deepEqual((await index.get(VAULT, 'w'))?.units, [0, 1, 2, TO]);
  assert.deepEqual(Buffer.from(await store.get(2, pillar2)), Buffer.from(bytes2));
  assert.ok(await store.head(TO, formatSliceName(sliceNamesOf(late)(0, 3))));
  assert.equal(
    await store.head(5, pillar2),
    undefined,
    'the earlier replaced unit holds nothing of it',
  );
  assert.equal(await store.head(FROM, formatSliceName(sliceNamesOf(late)(0, 3))), undefined);
  assert.equal(out.job?.segmentsTotal, 1, 'counted once');
});

test('old copies a replace failed to delete from an earlier replaced unit (as a crash after the relocation leaves them) go with its sweep; another vault there keeps its slices', async () => {
  // Prepare: as above, a write two topologies back, indexed late with units [0, 1, 5, 3]; the
  // deletes on unit 5 fail, and unit 5 holds another vault's slice too.
  const { clock, index, store, bytes2 } = await twoTopologiesBack();
  const otherKey = formatSliceName(sliceNamesOf({ ...entry('o'), vault: 'other' })(0, 0));
  await store.put(5, otherKey, bytes2, s3Crc32(bytes2));
  const remove = store.delete.bind(store);
  let refusals = 1;
  store.delete = async (unit, keys) => {
    if (unit === 5 && refusals-- > 0) throw new Error('unit 5 unreachable');
    await remove(unit, keys);
  };
  const { deps } = replaceRun(index, store, clock);

  // Act
  const out = await runTopologyJobStep(deps, VAULT, 'new', Number.POSITIVE_INFINITY);

  // Assess
  assert.equal(out.job?.state, 'done');
  assert.deepEqual(out.job?.strays, [5]);
  assert.deepEqual((await index.get(VAULT, 'w'))?.units, [0, 1, 2, TO]);
  assert.deepEqual(await Array.fromAsync(store.list(5, `${VAULT}/`)), [], 'unit 5 swept');
  assert.ok(await store.head(5, otherKey), 'another vault keeps its slice');
  assert.equal(refusals, -1, 'the first delete on unit 5 was refused');
});

test('a late write whose pillar sits on the unit another of its pillars belongs on: both move in one relocation, each slice where the layout puts it, the earlier unit swept', async () => {
  // Prepare: layout [0, 1, 2, 7]; an object written under [0, 1, 5, 2] (pillar 3 on unit 2)
  // indexed late. The job's own move (3 -> 7) touches none of its pillars.
  const clock = new SkippingClock();
  const index = new MemoryObjectIndex();
  const store = new MemorySliceStore(8, clock);
  const late: IndexEntry = { ...entry('p'), units: [0, 1, 5, 2] };
  await index.publish(late);
  const sliceOf = (pillar: number, byte: number) => {
    const name = sliceNamesOf(late)(0, pillar);
    const bytes = encodeSlice(
      { name, dataShards: 2, parityShards: 2, segmentLength: 4 },
      new Uint8Array([byte, byte]),
    );
    return { key: formatSliceName(name), bytes };
  };
  const p2 = sliceOf(2, 2);
  const p3 = sliceOf(3, 3);
  await store.put(5, p2.key, p2.bytes, s3Crc32(p2.bytes));
  await store.put(2, p3.key, p3.bytes, s3Crc32(p3.bytes));
  const { deps, relocations } = replaceRun(index, store, clock);

  // Act
  const out = await runTopologyJobStep(deps, VAULT, 'new', Number.POSITIVE_INFINITY);

  // Assess
  assert.equal(out.job?.state, 'done');
  assert.deepEqual(relocations, [[0, 1, 2, TO]], 'one relocation, both pillars');
  assert.deepEqual((await index.get(VAULT, 'p'))?.units, [0, 1, 2, TO]);
  assert.deepEqual(Buffer.from(await store.get(2, p2.key)), Buffer.from(p2.bytes));
  assert.deepEqual(Buffer.from(await store.get(TO, p3.key)), Buffer.from(p3.bytes));
  assert.equal(await store.head(2, p3.key), undefined, 'pillar 3 gone from unit 2');
  assert.deepEqual(await Array.fromAsync(store.list(5, `${VAULT}/`)), [], 'unit 5 swept');
});

test("a count longer than a step's time checkpoints page by page and goes on at the next step, never from the start", async () => {
  // Prepare: 250 objects to move (three index pages); each page read takes a minute.
  const clock = new SkippingClock();
  const index = new MemoryObjectIndex();
  const store = new MemorySliceStore(8, clock);
  for (let i = 0; i < 250; i++)
    await index.publish({
      ...entry('a'),
      key: `k${String(i).padStart(3, '0')}`,
      objectId: `o${String(i).padStart(21, '0')}`,
      revision: `0000000000${i.toString(16).padStart(16, '0')}`,
    });
  let reads = 0;
  const slow: MoverDeps['index'] = Object.assign(Object.create(index), {
    list: async (...args: Parameters<MemoryObjectIndex['list']>) => {
      reads++;
      clock.at += 60_000;
      return index.list(...args);
    },
  });
  let job: TopologyJob = replaceJob(clock, clock.now());
  const saved: Array<TopologyJob['countCursor']> = [];
  const deps = moverDeps({
    index: slow,
    slices: store,
    manifests: { relocate: async () => true },
    jobs: {
      get: async () => structuredClone(job),
      start: async (j) => j,
      lease: async () => true,
      noteLateWrite: async () => {},
      reopen: async () => false,
      save: async (j) => {
        job = structuredClone(j);
        if (j.phase === 'count') saved.push(j.countCursor && { ...j.countCursor });
        return true;
      },
    },
    clock,
  });

  // Act: steps of 30 s, each past its deadline after its first page.
  const first = await runTopologyJobStep(deps, VAULT, 'new', clock.now() + 30_000);
  const afterFirst = structuredClone(job);
  const second = await runTopologyJobStep(deps, VAULT, 'new', clock.now() + 30_000);
  const afterSecond = structuredClone(job);
  const readsBeforeThird = reads;
  await runTopologyJobStep(deps, VAULT, 'new', clock.now() + 30_000);

  // Assess
  assert.deepEqual(
    [first.more, afterFirst.phase, afterFirst.countCursor?.total],
    [true, 'count', 100],
  );
  assert.deepEqual(
    [second.more, afterSecond.phase, afterSecond.countCursor?.total],
    [true, 'count', 200],
  );
  assert.equal(readsBeforeThird, 2, 'one page a step, none read twice');
  assert.notEqual(job.phase, 'count', 'counted on the third step');
  assert.equal(job.segmentsTotal, 250);
  assert.equal(job.countCursor, undefined);
});

/**
 * One object of `segments` segments with its pillar 3 on unit FROM, every slice PUT taking 5 s
 * of `clock`: a move that outlasts a lease.
 */
async function slowObject(segments: number) {
  const clock = new SkippingClock();
  const index = new MemoryObjectIndex();
  const store = new MemorySliceStore(8, clock);
  const big = { ...entry('a'), segments, size: 4 * segments };
  await index.publish(big);
  for (let s = 0; s < segments; s++) {
    const name = sliceNamesOf(big)(s, 3);
    const slice = encodeSlice(
      { name, dataShards: 2, parityShards: 2, segmentLength: 4 },
      new Uint8Array([1, 2]),
    );
    await store.put(FROM, formatSliceName(name), slice, s3Crc32(slice));
  }
  const slices: MoverDeps['slices'] = Object.assign(Object.create(store), {
    put: async (...args: Parameters<MemorySliceStore['put']>) => {
      clock.at += 5000;
      return store.put(...args);
    },
  });
  return { clock, index, store, slices, big };
}

/**
 * A job store holding `job` alone whose saves go through `onSave` (false refuses the save, as a
 * lease another holder took does): every holder may lease it.
 */
function savingJobs(
  job: TopologyJob,
  onSave: (j: TopologyJob, until: number | 'release') => boolean = () => true,
): MoverDeps['jobs'] {
  let saved = structuredClone(job);
  return {
    get: async () => structuredClone(saved),
    start: async (j) => j,
    lease: async () => true,
    noteLateWrite: async () => {},
    reopen: async () => false,
    save: async (j, _holder, until) => {
      if (!onSave(j, until)) return false;
      saved = structuredClone(j);
      return true;
    },
  };
}

/** A manifest store over `index` that records each relocation's units. */
function relocating(
  index: MemoryObjectIndex,
  relocations: number[][] = [],
): MoverDeps['manifests'] {
  return {
    relocate: async (e, units) => {
      relocations.push(units);
      await index.publish({ ...e, units });
      return true;
    },
  };
}

test("one object that moves for longer than a lease renews the job's lease as it goes; a lease lost mid-object stops it before the relocation", async () => {
  // Prepare: 20 segments at 5 s a slice, 100 s for the object against a 30 s lease.
  const { clock, index, slices, big } = await slowObject(20);
  const job: TopologyJob = replaceJob(clock, clock.now() - 60_000);
  const leases: Array<{ at: number; until: number | 'release' }> = [];
  let lostAt = Number.POSITIVE_INFINITY;
  const relocations: number[][] = [];
  const jobs = savingJobs(job, (_j, until) => {
    if (clock.now() >= lostAt) return false;
    leases.push({ at: clock.now(), until });
    return true;
  });
  const run = () =>
    runTopologyJobStep(
      moverDeps({ index, slices, manifests: relocating(index, relocations), jobs, clock }),
      VAULT,
      'new',
      Number.POSITIVE_INFINITY,
    );

  // Act: a holder whose lease is taken from it 40 s into the object.
  const start = clock.now();
  lostAt = start + 40_000;
  const cut = await run();
  const placedWhenCut = relocations.length;

  // Assess: it renewed while it could, then stopped at the next renewal, relocating nothing.
  assert.equal(cut.more, false);
  assert.equal(placedWhenCut, 0, 'no relocation by a holder that lost its lease');
  assert.ok(clock.now() - start < 60_000, 'it stopped well before the object was done');
  const renewed = leases.filter((l) => typeof l.until === 'number');
  assert.ok(renewed.length >= 3, `renewed ${renewed.length} times in 40 s`);
  for (const [i, l] of renewed.entries()) {
    const before = i === 0 ? start : (renewed[i - 1] as { at: number }).at;
    assert.ok(l.at - before <= 15_000, 'never more than a third of a lease between renewals');
    assert.ok((l.until as number) > l.at + 20_000, 'each renewal reaches well past its time');
  }

  // Act: the next holder keeps its lease and moves the whole object.
  lostAt = Number.POSITIVE_INFINITY;
  leases.length = 0;
  const again = clock.now();
  const whole = await run();

  // Assess
  assert.equal(whole.job?.state, 'done');
  assert.deepEqual(relocations, [[0, 1, 2, TO]]);
  assert.deepEqual((await index.get(VAULT, big.key))?.units, [0, 1, 2, TO]);
  const gaps = leases.map(
    (l, i) => l.at - (i === 0 ? again : (leases[i - 1] as { at: number }).at),
  );
  assert.ok(leases.length >= 7, `the 100 s move renewed ${leases.length} times`);
  assert.ok(
    gaps.every((g) => g <= 15_000),
    `never more than a third of a lease between saves: ${gaps.join(',')}`,
  );
});

test('a lease is renewed while an object waits with no byte moving (a slow unit, a commit), not only between its bytes', {
  timeout: 20_000,
}, async () => {
  // Prepare: one segment whose copy hangs for 6 s of real time, while 20 s of the job's clock
  // pass: only the heartbeat (every 5 s) can renew the lease meanwhile.
  const { clock, index, slices, big } = await slowObject(1);
  const job: TopologyJob = replaceJob(clock, clock.now() - 60_000);
  let putting = false;
  const renewedWhilePutting: number[] = [];
  const hanging: MoverDeps['slices'] = Object.assign(Object.create(slices), {
    put: async (...args: Parameters<MemorySliceStore['put']>) => {
      clock.at += 20_000;
      putting = true;
      await new Promise((r) => setTimeout(r, 6000));
      putting = false;
      return slices.put(...args);
    },
  });
  const deps = moverDeps({
    index,
    slices: hanging,
    manifests: relocating(index),
    jobs: savingJobs(job, (_j, until) => {
      if (putting && typeof until === 'number') renewedWhilePutting.push(until);
      return true;
    }),
    clock,
  });

  // Act
  const out = await runTopologyJobStep(deps, VAULT, 'new', Number.POSITIVE_INFINITY);

  // Assess
  assert.equal(out.job?.state, 'done');
  assert.equal(renewedWhilePutting.length, 1, 'renewed once the clock said it was due');
  assert.deepEqual((await index.get(VAULT, big.key))?.units, [0, 1, 2, TO]);
});

test("a move whose relocation is stale (another job moved the object meanwhile) deletes the copies it placed and leaves the old unit's", async () => {
  // Prepare: one object; the manifest store answers 'stale', as when a newer job relocated it.
  const { clock, index, store, slices, big } = await slowObject(2);
  const job: TopologyJob = replaceJob(clock, clock.now());
  const log = new MemoryLogger();
  const deps = moverDeps(
    {
      index,
      slices,
      manifests: { relocate: async () => 'stale' as const },
      jobs: savingJobs(job),
      clock,
    },
    { log },
  );

  // Act: one step of 1 s of the job's clock (a pass, no more).
  await runTopologyJobStep(deps, VAULT, 'new', clock.now() + 1);

  // Assess
  for (let s = 0; s < big.segments; s++) {
    const key = formatSliceName(sliceNamesOf(big)(s, 3));
    assert.equal(
      await store.head(TO, key),
      undefined,
      `segment ${s}: no copy left on the new unit`,
    );
    assert.ok(await store.head(FROM, key), `segment ${s}: the old copy stays`);
  }
  assert.ok(log.lines.some((l) => /relocated by another job meanwhile/.test(l.message)));
});

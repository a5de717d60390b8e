import assert from 'node:assert/strict';
import { test } from 'node:test';
import { s3Crc32 } from '../../../shared/codec/slice-header.ts';
import { formatSliceName } from '../../../shared/codec/slice-name.ts';
import type { SliceEnvelope, UnitMessage } from '../../../shared/store/multicast.ts';
import type { UnitStatus } from '../../../shared/store/revision.ts';
import {
  SUPERSEDED_GRACE_MS,
  storeSlicesOnce,
  TOPOLOGY_VIEW_MS,
  topologyView,
  type UnitDeps,
} from '../../../shared/store/unit.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemorySliceStore } from '../../helpers/memory/index.ts';
import { inlineUnitMessage } from '../../helpers/unit-message.ts';

const revision = '00mwzq0jzn82050b176c0d6f34';
/** What the writer put for unit 1 of every claim-check message below. */
const claimed = new Uint8Array(10).fill(1);

/** A claim-check message for segment `segment` whose slice for unit 1 is stored (HEAD finds it). */
function message(segment: number, address = 'vault/default'): UnitMessage {
  const name = formatSliceName({
    vault: 'default',
    objectId: 'AAAAAAAAAAAAAAAAAAAAAA',
    revision,
    segment,
    pillar: 1,
  });
  return {
    v: 1,
    vault: 'default',
    address,
    revision,
    segment,
    slices: [{ pillar: 1, unit: 1, name, crc32: s3Crc32(claimed), size: claimed.length }],
  };
}

/** Unit 1, its bucket holding the claim-checked slices of segments 0 to 2. */
async function unitDeps(
  publish: (address: string, s: UnitStatus[]) => Promise<void>,
): Promise<UnitDeps> {
  const slices = new MemorySliceStore(3);
  for (const segment of [0, 1, 2]) {
    const { name } = message(segment).slices[0] as SliceEnvelope;
    await slices.put(1, name, claimed, s3Crc32(claimed));
  }
  return {
    unit: 1,
    slices,
    multicast: { send: async () => {}, statuses: publish, nudge: async () => {} },
    subscriptions: { addresses: async () => new Set(['vault/default']) },
    foreign: () => {},
    conflict: () => {},
  };
}

test('a batch of messages costs one status message, carrying every slice verified', async () => {
  // Prepare
  const sent: Array<{ address: string; statuses: UnitStatus[] }> = [];
  const deps = await unitDeps(async (address, statuses) => void sent.push({ address, statuses }));

  // Act
  const results = await storeSlicesOnce(deps, [
    { message: message(0), attributeAddress: 'vault/default' },
    { message: message(1), attributeAddress: 'vault/default' },
    { message: message(2, 'vault/other'), attributeAddress: 'vault/other' },
  ]);

  // Assess: one publish for the two subscribed messages; the foreign one is ignored.
  assert.equal(sent.length, 1);
  assert.deepEqual(
    sent[0]?.statuses.map((s) => [s.segment, s.ok]),
    [
      [0, true],
      [1, true],
    ],
  );
  assert.deepEqual(
    results.map((r) => r.status === 'fulfilled' && r.value),
    [
      { ignored: false, confirmed: 1, failed: 0 },
      { ignored: false, confirmed: 1, failed: 0 },
      { ignored: true, confirmed: 0, failed: 0 },
    ],
  );
});

test('when the status message cannot be sent, every message it carried must come again', async () => {
  const deps = await unitDeps(async () => {
    throw new Error('SNS is away');
  });
  const results = await storeSlicesOnce(deps, [
    { message: message(0), attributeAddress: 'vault/default' },
    { message: message(1), attributeAddress: 'vault/default' },
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
});

test('an inline slice is created in one request; a redelivery rewrites nothing, and other bytes under its name are kept, refused and counted', async () => {
  // Prepare: an inline message for unit 2, and a store that records each call.
  const { message: inline, bytes, name } = inlineUnitMessage('AAAAAAAAAAAAAAAAAAAAAA', revision);
  const calls: string[] = [];
  class RecordingSlices extends MemorySliceStore {
    override async create(unit: number, key: string, body: Uint8Array, crc32: string) {
      calls.push('create');
      return super.create(unit, key, body, crc32);
    }
    override async head(unit: number, key: string) {
      calls.push('head');
      return super.head(unit, key);
    }
    override async put(unit: number, key: string, body: Uint8Array, crc32: string) {
      calls.push('put');
      await super.put(unit, key, body, crc32);
    }
  }
  const slices = new RecordingSlices(3);
  const sent: boolean[] = [];
  const conflicts: string[] = [];
  const deps: UnitDeps = {
    ...(await unitDeps(async (_a, statuses) => void sent.push(...statuses.map((s) => s.ok)))),
    unit: 2,
    slices,
    conflict: (slice) => conflicts.push(slice),
  };
  const deliver = () =>
    storeSlicesOnce(deps, [{ message: inline, attributeAddress: 'vault/default' }]);

  // Act
  await deliver();
  const first = calls.splice(0);
  await deliver();
  const redelivered = calls.splice(0);
  const other = new Uint8Array(3);
  await slices.put(2, formatSliceName(name), other, s3Crc32(other));
  calls.splice(0); // setting the scene, not the unit's doing
  await deliver();
  const overOther = calls.splice(0);

  // Assess
  assert.deepEqual(first, ['create'], 'a new slice costs one request');
  assert.deepEqual(redelivered, ['create', 'head'], 'found, checked, not rewritten');
  assert.deepEqual(overOther, ['create', 'head'], 'other bytes under the name are not replaced');
  assert.deepEqual(await slices.head(2, formatSliceName(name)), {
    size: other.length,
    crc32: s3Crc32(other),
  });
  assert.deepEqual(sent, [true, true, false]);
  assert.deepEqual(conflicts, [formatSliceName(name)]);
  assert.notDeepEqual(bytes.length, other.length);
});

test('a unit refuses the slices of a vault frozen on it, with unfavorable statuses that say why', async () => {
  // Prepare
  const sent: UnitStatus[] = [];
  const deps = await unitDeps(async (_address, statuses) => void sent.push(...statuses));
  let frozen = true;
  deps.refusal = async (vault) =>
    frozen ? `unit 1 refuses slices of vault "${vault}": frozen by command c1` : undefined;

  // Act
  const refused = await storeSlicesOnce(deps, [
    { message: message(0), attributeAddress: 'vault/default' },
  ]);
  frozen = false;
  const taken = await storeSlicesOnce(deps, [
    { message: message(1), attributeAddress: 'vault/default' },
  ]);

  // Assess
  assert.deepEqual(
    sent.map((s) => [s.segment, s.ok, s.reason]),
    [
      [0, false, 'unit 1 refuses slices of vault "default": frozen by command c1'],
      [1, true, undefined],
    ],
  );
  assert.deepEqual(refused[0]?.status === 'fulfilled' && refused[0].value, {
    ignored: false,
    confirmed: 0,
    failed: 1,
  });
  assert.equal(taken[0]?.status === 'fulfilled' && taken[0].value.confirmed, 1);
});

test('the freeze and topology reads and the HEAD of a claim-checked slice go out together; a refused inline slice is never stored', async () => {
  // Prepare: both reads wait until released; the store records its calls.
  const events: string[] = [];
  let release: (frozen: boolean) => void = () => {};
  const released = new Promise<boolean>((r) => {
    release = r;
  });
  class RecordingSlices extends MemorySliceStore {
    override async head(unit: number, key: string) {
      events.push(`head ${unit}`);
      return super.head(unit, key);
    }
    override async create(unit: number, key: string, body: Uint8Array, crc32: string) {
      events.push(`create ${unit}`);
      return super.create(unit, key, body, crc32);
    }
  }
  const slices = new RecordingSlices(3);
  const claim = message(0);
  const { name } = claim.slices[0] as SliceEnvelope;
  await slices.put(1, name, claimed, s3Crc32(claimed));
  const sent: UnitStatus[] = [];
  const base = await unitDeps(async (_a, statuses) => void sent.push(...statuses));
  const unit = (n: number): UnitDeps => ({
    ...base,
    unit: n,
    slices,
    refusal: async () => {
      events.push(`freeze read ${n}`);
      return (await released) ? 'frozen by command c1' : undefined;
    },
    currentTopology: async () => {
      events.push(`topology read ${n}`);
      await released;
      return {};
    },
  });
  const { message: inline } = inlineUnitMessage('AAAAAAAAAAAAAAAAAAAAAA', revision);

  // Act: unit 1 gets a claim check, unit 2 an inline slice; the reads are held.
  const outcomes = Promise.all([
    storeSlicesOnce(unit(1), [{ message: claim, attributeAddress: 'vault/default' }]),
    storeSlicesOnce(unit(2), [{ message: inline, attributeAddress: 'vault/default' }]),
  ]);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  const whileReading = events.splice(0);
  release(true);
  await outcomes;

  // Assess: the HEAD went out with the reads; nothing was created for the refused write.
  assert.deepEqual(whileReading.toSorted(), [
    'freeze read 1',
    'freeze read 2',
    'head 1',
    'topology read 1',
    'topology read 2',
  ]);
  assert.deepEqual(events, []);
  assert.deepEqual(
    sent.map((s) => [s.unit, s.ok, s.reason]),
    [
      [1, false, 'frozen by command c1'],
      [2, false, 'frozen by command c1'],
    ],
  );
});

test("a unit's view of the vault's topology is read once per TOPOLOGY_VIEW_MS, shorter than the grace, so a write begun after the grace meets a view read after the switch", async () => {
  // Prepare
  const clock = new ManualClock();
  let current = { id: 'old', since: 0 };
  const reads: string[] = [];
  const view = topologyView(clock, async (vault) => {
    reads.push(vault);
    return current;
  });

  // Act: three messages at once, one later within the view's life, the switch, then past it.
  const first = await Promise.all([view('v'), view('v'), view('v')]);
  clock.advance(TOPOLOGY_VIEW_MS - 1);
  const within = await view('v');
  current = { id: 'new', since: clock.now() };
  clock.advance(1);
  const after = await view('v');

  // Assess
  assert.ok(TOPOLOGY_VIEW_MS < SUPERSEDED_GRACE_MS, 'a view outlives no grace');
  assert.deepEqual(
    first.map((v) => v.id),
    ['old', 'old', 'old'],
  );
  assert.equal(within.id, 'old');
  assert.equal(after.id, 'new');
  assert.deepEqual(reads, ['v', 'v'], 'one read per view, shared by concurrent messages');
});

test('a failed read of the topology is not remembered: the next message reads again', async () => {
  // Prepare
  const clock = new ManualClock();
  let fail = true;
  const view = topologyView(clock, async () => {
    if (fail) throw new Error('throttled');
    return { id: 'x' };
  });

  // Act, Assess
  await assert.rejects(view('v'), /throttled/);
  fail = false;
  assert.equal((await view('v')).id, 'x');
});

test('a claim check that fails while the checks are out is no unhandled rejection: its delivery fails and comes again', async () => {
  // Prepare: a slice name that does not parse, and checks that take a while.
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const base = await unitDeps(async () => {});
  const deps: UnitDeps = {
    ...base,
    refusal: () => new Promise((r) => setTimeout(() => r(undefined), 30)),
  };
  const bad = message(0);
  (bad.slices[0] as SliceEnvelope).name = 'not a slice name';

  // Act
  let outcome: PromiseSettledResult<unknown>[];
  try {
    outcome = await storeSlicesOnce(deps, [{ message: bad, attributeAddress: 'vault/default' }]);
    await new Promise((r) => setTimeout(r, 10));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }

  // Assess
  assert.deepEqual(unhandled, []);
  assert.equal(outcome[0]?.status, 'rejected');
});

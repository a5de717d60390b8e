import assert from 'node:assert/strict';
import { test } from 'node:test';
import { s3Crc32 } from '../../../shared/codec/slice-header.ts';
import { formatSliceName } from '../../../shared/codec/slice-name.ts';
import type { UnitMessage } from '../../../shared/store/multicast.ts';
import { newRevisionId, type UnitStatus } from '../../../shared/store/revision.ts';
import {
  SUPERSEDED_GRACE_MS,
  storeSlicesOnce,
  topologyView,
  type UnitDeps,
} from '../../../shared/store/unit.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemorySliceStore } from '../../helpers/memory/index.ts';

const OLD = 'a'.repeat(64);
const NEW = 'b'.repeat(64);
const SWITCHED_AT = Date.parse('2026-12-01T00:00:00Z');

/**
 * A batch of `segments` claim-check messages for unit 1 (one per segment), written under
 * `topology`, whose revision began at `at`.
 */
async function world(
  topology: string,
  at: number,
  currentTopology: UnitDeps['currentTopology'] = async () => ({ id: NEW, since: SWITCHED_AT }),
  segments = 1,
) {
  const revision = newRevisionId(at);
  const bytes = new Uint8Array(10).fill(1);
  const slices = new MemorySliceStore(3);
  const messages: UnitMessage[] = [];
  for (let segment = 0; segment < segments; segment++) {
    const name = formatSliceName({
      vault: 'vlt',
      objectId: 'AAAAAAAAAAAAAAAAAAAAAA',
      revision,
      segment,
      pillar: 1,
    });
    await slices.put(1, name, bytes, s3Crc32(bytes));
    messages.push({
      v: 1,
      vault: 'vlt',
      address: 'vault/vlt',
      revision,
      segment,
      topology,
      slices: [{ pillar: 1, unit: 1, name, crc32: s3Crc32(bytes), size: bytes.length }],
    });
  }
  const sent: UnitStatus[] = [];
  const deps: UnitDeps = {
    unit: 1,
    slices,
    multicast: {
      send: async () => {},
      statuses: async (_a, s) => void sent.push(...s),
      nudge: async () => {},
    },
    subscriptions: { addresses: async () => new Set(['vault/vlt']) },
    foreign: () => {},
    conflict: () => {},
    // The unit missed the vote: it learns the current topology from the vault.
    currentTopology,
  };
  await storeSlicesOnce(
    deps,
    messages.map((message) => ({ message, attributeAddress: 'vault/vlt' })),
  );
  return sent;
}

test('a unit that missed the vote refuses new writes under the superseded topology id', async () => {
  // Act
  const sent = await world(OLD, SWITCHED_AT + SUPERSEDED_GRACE_MS + 1);

  // Assess
  assert.equal(sent.length, 1);
  assert.equal(sent[0]?.ok, false);
  assert.match(sent[0]?.reason ?? '', /superseded/);
});

test('writes under the current id are stored, and a write begun before the switch finishes under the old id', async () => {
  // Act
  const current = await world(NEW, SWITCHED_AT + 60_000);
  const begunBefore = await world(OLD, SWITCHED_AT - 10);

  // Assess
  assert.equal(current[0]?.ok, true);
  assert.equal(begunBefore[0]?.ok, true);
});

test('a unit whose remembered view still shows the old topology stores a write under the new one: it reads afresh before refusing', async () => {
  // Prepare: the view was read just before the switch, and is still within its second.
  const clock = new ManualClock(SWITCHED_AT - 100);
  let vault = { id: OLD, since: SWITCHED_AT - 3_600_000 };
  const reads: string[] = [];
  const view = topologyView(clock, async () => {
    reads.push(vault.id);
    return vault;
  });
  await view('vlt');
  vault = { id: NEW, since: SWITCHED_AT };
  clock.advance(200);

  // Act
  const sent = await world(NEW, SWITCHED_AT + 150, view);

  // Assess
  assert.equal(sent[0]?.ok, true, sent[0]?.reason);
  assert.deepEqual(reads, [OLD, NEW], 'the refusal was checked on a fresh read');
});

test('a batch of several messages under the superseded id reads the vault afresh once, not per message', async () => {
  // Prepare: the unit's view is current (it shows the new topology).
  const clock = new ManualClock(SWITCHED_AT + 60_000);
  const reads: string[] = [];
  const view = topologyView(clock, async () => {
    reads.push(NEW);
    return { id: NEW, since: SWITCHED_AT };
  });
  await view('vlt');

  // Act
  const sent = await world(OLD, SWITCHED_AT + 30_000, view, 3);

  // Assess
  assert.deepEqual(
    sent.map((s) => [s.segment, s.ok]),
    [
      [0, false],
      [1, false],
      [2, false],
    ],
  );
  assert.equal(reads.length, 2, 'the remembered read, then one fresh read for the whole batch');
});

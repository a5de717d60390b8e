import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UnitMessage } from '../../shared/multicast.ts';
import type { SliceStore } from '../../shared/ports.ts';
import type { UnitStatus } from '../../shared/revision.ts';
import { formatSliceName } from '../../shared/slice-name.ts';
import { storeSlicesOnce, type UnitDeps } from '../../shared/unit.ts';

const revision = '00mwzq0jzn82050b176c0d6f34';

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
    slices: [{ pillar: 1, unit: 1, name, crc32: 'AAAAAA==', size: 10 }],
  };
}

function unitDeps(publish: (address: string, s: UnitStatus[]) => Promise<void>): UnitDeps {
  return {
    unit: 1,
    slices: {
      head: async () => ({ size: 10, crc32: 'AAAAAA==' }),
    } as unknown as SliceStore,
    multicast: { send: async () => {}, statuses: publish },
    subscriptions: { addresses: async () => new Set(['vault/default']) },
    foreign: () => {},
  };
}

test('a batch of messages costs one status message, carrying every slice verified', async () => {
  // Prepare
  const sent: Array<{ address: string; statuses: UnitStatus[] }> = [];
  const deps = unitDeps(async (address, statuses) => void sent.push({ address, statuses }));

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
  const deps = unitDeps(async () => {
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

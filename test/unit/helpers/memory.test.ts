/**
 * What the memory adapters do that the contracts cannot hold them to on the emulators: time
 * (a taken repair record comes back after the visibility timeout; objects are dated by the
 * clock), and the recording ports (SNS and SQS senders) keeping what they were given.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { s3Crc32 } from '../../../shared/codec/index.ts';
import type { UnitMessage } from '../../../shared/store/index.ts';
import { damageOf } from '../../contracts/repair-queue.contract.ts';
import { ManualClock } from '../../helpers/clock.ts';
import {
  MemoryEventBus,
  MemoryMulticast,
  MemoryRepairQueue,
  MemorySliceStore,
  RETRY_AFTER_MS,
} from '../../helpers/memory/index.ts';

test('a repair record taken and not removed comes back after the visibility timeout, with a new handle', async () => {
  // Prepare
  const clock = new ManualClock();
  const queue = new MemoryRepairQueue(clock);
  await queue.record([damageOf(0), damageOf(1)]);
  const [first, second] = await queue.receive(10);
  await queue.remove([second?.handle as string]);

  // Act
  clock.advance(RETRY_AFTER_MS - 1);
  const early = await queue.receive(10);
  clock.advance(1);
  const back = await queue.receive(10);
  await queue.remove([first?.handle as string]);

  // Assess: the first handle no longer removes it (as on SQS); the new one does.
  assert.deepEqual(early, []);
  assert.deepEqual(
    back.map((b) => b.damage),
    [damageOf(0)],
  );
  assert.notEqual(back[0]?.handle, first?.handle);
  assert.equal(queue.size, 1);
  await queue.remove([back[0]?.handle as string]);
  assert.equal(queue.size, 0);
});

test("slices are dated by the store's clock", async () => {
  const clock = new ManualClock();
  const slices = new MemorySliceStore(1, clock);
  const body = new Uint8Array(4);
  await slices.put(0, 'a', body, s3Crc32(body));
  clock.advance(60_000);
  await slices.put(0, 'b', body, s3Crc32(body));
  const dates: number[] = [];
  for await (const s of slices.list(0, '')) dates.push(s.lastModified?.getTime() ?? 0);
  assert.deepEqual(dates, [clock.now() - 60_000, clock.now()]);
});

test('the recording ports keep a copy of what was sent, as SNS would carry it', async () => {
  // Prepare
  const multicast = new MemoryMulticast();
  const events = new MemoryEventBus();
  const message: UnitMessage = {
    v: 1,
    vault: 'photos',
    address: 'vault/photos',
    revision: 'r',
    segment: 0,
    slices: [],
  };
  const event = {
    type: 'object.committed' as const,
    vault: 'photos',
    key: 'k',
    revision: 'r',
    size: undefined,
    time: 't',
  };

  // Act
  await multicast.send('vault/photos', [message, { ...message, segment: 1 }]);
  await multicast.statuses('unit/1', []);
  await events.publish(event);
  message.segment = 9;

  // Assess
  assert.deepEqual(
    multicast.messages.map((m) => [m.address, m.message.segment]),
    [
      ['vault/photos', 0],
      ['vault/photos', 1],
    ],
  );
  assert.deepEqual(multicast.statusMessages, [
    { address: 'unit/1', message: { v: 1, statuses: [] } },
  ]);
  assert.deepEqual(events.events, [
    { type: 'object.committed', vault: 'photos', key: 'k', revision: 'r', time: 't' },
  ]);
});

/**
 * The repair queue's contract, both sides: reads record damage (RepairLog), the rebuilder takes
 * and removes it (RepairInbox). A record taken is hidden from other takers until removed.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { QueuedDamage, RepairInbox } from '../../shared/repair/index.ts';
import type { RepairLog, SliceDamage } from '../../shared/store/index.ts';
import { type PortFactory, portTest } from './contract.ts';

export type RepairQueue = RepairLog & RepairInbox;

export function damageOf(segment: number): SliceDamage {
  return {
    vault: 'photos',
    key: 'k',
    revision: '00mwzq0000aaaaaaaaaaaaaaaa',
    segment,
    pillar: segment % 6,
    unit: segment % 8,
    defect: 'missing',
    detail: `segment ${segment}`,
    at: '2026-12-01T00:00:00.000Z',
  };
}

/** Takes `max` at a time until the queue answers empty. */
async function drain(queue: RepairQueue, max = 10): Promise<QueuedDamage[]> {
  const taken: QueuedDamage[] = [];
  for (;;) {
    const batch = await queue.receive(max);
    assert.ok(batch.length <= Math.min(10, Math.max(1, max)), `${batch.length} for ${max}`);
    if (batch.length === 0) return taken;
    taken.push(...batch);
  }
}

const segments = (taken: QueuedDamage[]) =>
  taken.map((t) => t.damage.segment).sort((a, b) => a - b);

/** Registers the contract's tests; `factory` builds an empty queue. */
export function repairQueueContract(name: string, factory: PortFactory<RepairQueue>): void {
  const it = portTest(factory);

  describe(`RepairLog and RepairInbox contract: ${name}`, () => {
    it('an empty queue answers at once with nothing', async (queue) => {
      assert.deepEqual(await queue.receive(10), []);
    });

    it('recorded damage is taken once, as recorded, each with its handle', async (queue) => {
      // Prepare
      await queue.record([damageOf(0), damageOf(1), damageOf(2)]);

      // Act
      const taken = await drain(queue);

      // Assess
      assert.deepEqual(
        taken.map((t) => t.damage).sort((a, b) => a.segment - b.segment),
        [damageOf(0), damageOf(1), damageOf(2)],
      );
      assert.equal(new Set(taken.map((t) => t.handle)).size, 3);
      assert.deepEqual(await queue.receive(10), [], 'taken records are hidden');
    });

    it('more than ten records are all recorded, and taken at most ten at a time', async (queue) => {
      // Prepare
      await queue.record(Array.from({ length: 23 }, (_, i) => damageOf(i)));

      // Act
      const taken = await drain(queue, 50);

      // Assess
      assert.deepEqual(
        segments(taken),
        Array.from({ length: 23 }, (_, i) => i),
      );
    });

    it('receive takes at least one record even when asked for none', async (queue) => {
      await queue.record([damageOf(0), damageOf(1)]);
      assert.equal((await queue.receive(0)).length, 1);
    });

    it('remove deletes the records handled; an empty list is fine', async (queue) => {
      // Prepare
      await queue.record([damageOf(0), damageOf(1)]);
      const taken = await drain(queue);

      // Act
      await queue.remove(taken.map((t) => t.handle));
      await queue.remove([]);

      // Assess
      assert.deepEqual(await queue.receive(10), []);
    });
  });
}

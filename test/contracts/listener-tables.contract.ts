/**
 * The contract of the listeners system's tables: participant entries with versions and removal
 * conditional on them, the per-key sequence, initiator entries per node and path, and listener
 * records with their counts and the nodes' loads.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type {
  InitiatorStore,
  Listener,
  ListenerStore,
  ParticipantStore,
  SequenceCounter,
} from '../../shared/listeners/index.ts';
import { type PortFactory, portTest } from './contract.ts';

export interface ListenerTables {
  participants: ParticipantStore & SequenceCounter;
  initiators: InitiatorStore;
  listeners: ListenerStore;
}

export const T0 = Date.parse('2026-12-01T00:00:00Z');

export function listenerOf(id: string, over: Partial<Listener> = {}): Listener {
  return {
    id,
    vault: 'photos',
    path: 'a/',
    recursive: true,
    events: ['object.committed', 'object.deleted'],
    target: { type: 'webhook', url: 'https://example.com/h', secret: 's' },
    node: 1,
    createdAt: new Date(T0).toISOString(),
    ...over,
  };
}

/** Registers the contract's tests; `factory` builds empty tables whose clock reads T0. */
export function listenerTablesContract(name: string, factory: PortFactory<ListenerTables>): void {
  const it = portTest(factory);

  describe(`listener tables contract: ${name}`, () => {
    it('a path nobody joined has no entry; joins gather nodes and bump the version', async (t) => {
      assert.deepEqual(await t.participants.read('photos', ['a/b', 'a/', '']), []);
      await t.participants.join('photos', 'a/', 2);
      await t.participants.join('photos', 'a/', 0);
      await t.participants.join('photos', '', 1);
      await t.participants.join('other', 'a/', 3);
      const entries = await t.participants.read('photos', ['a/b', 'a/', '']);
      const byPath = new Map(entries.map((e) => [e.path, e]));
      assert.deepEqual(byPath.get('a/')?.nodes, [0, 2]);
      assert.equal(byPath.get('a/')?.version, 2);
      assert.deepEqual(byPath.get('')?.nodes, [1]);
      assert.equal(byPath.has('a/b'), false);
    });

    it('a leave at the version read removes the node; at an older one it changes nothing', async (t) => {
      // Prepare
      await t.participants.join('photos', 'a/', 1);
      const [seen] = await t.participants.read('photos', ['a/']);
      assert.ok(seen);
      await t.participants.join('photos', 'a/', 2); // a join after the read

      // Act and assess: the stale leave is refused ...
      assert.equal(await t.participants.leave('photos', 'a/', 1, seen.version), false);
      const [now] = await t.participants.read('photos', ['a/']);
      assert.deepEqual(now?.nodes, [1, 2]);
      // ... and one at the current version goes through, bumping it.
      assert.equal(await t.participants.leave('photos', 'a/', 1, now?.version ?? -1), true);
      const [after] = await t.participants.read('photos', ['a/']);
      assert.deepEqual(after?.nodes, [2]);
      assert.ok((after?.version ?? 0) > (now?.version ?? 0));
    });

    it('an entry whose last node left is not returned, and a rejoin gets a newer version', async (t) => {
      await t.participants.join('photos', 'x', 0);
      const [entry] = await t.participants.read('photos', ['x']);
      assert.equal(await t.participants.leave('photos', 'x', 0, entry?.version ?? -1), true);
      assert.deepEqual(await t.participants.read('photos', ['x']), []);
      await t.participants.join('photos', 'x', 0);
      const [again] = await t.participants.read('photos', ['x']);
      assert.ok((again?.version ?? 0) > (entry?.version ?? 0) + 1);
    });

    it('a read of more than 100 paths reads them all', async (t) => {
      const paths = Array.from({ length: 130 }, (_, i) => `d${i}/`);
      for (const p of paths.slice(95, 105)) await t.participants.join('photos', p, 0);
      const found = await t.participants.read('photos', paths);
      assert.deepEqual(found.map((e) => e.path).sort(), paths.slice(95, 105).sort());
    });

    it('sequences count 1, 2, 3 per key, keys and vaults apart, and say how far they were sent', async (t) => {
      assert.deepEqual(await t.participants.next('photos', 'k'), { sequence: 1, sent: 0 });
      assert.deepEqual(await t.participants.next('photos', 'k'), { sequence: 2, sent: 0 });
      await t.participants.markSent('photos', 'k', 2);
      await t.participants.markSent('photos', 'k', 1); // late: changes nothing
      assert.equal(await t.participants.sent('photos', 'k'), 2);
      assert.deepEqual(await t.participants.next('photos', 'k'), { sequence: 3, sent: 2 });
      assert.deepEqual(await t.participants.next('photos', 'j'), { sequence: 1, sent: 0 });
      assert.deepEqual(await t.participants.next('other', 'k'), { sequence: 1, sent: 0 });
      assert.equal(await t.participants.sent('other', 'nothing'), 0);
      const many = await Promise.all(
        Array.from({ length: 10 }, () => t.participants.next('photos', 'k')),
      );
      assert.deepEqual(
        many.map((m) => m.sequence).sort((a, b) => a - b),
        [4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
      );
    });

    it('initiator entries hold each node its own listeners per path, and removal is idempotent', async (t) => {
      const a = listenerOf('l1');
      const b = listenerOf('l2');
      const elsewhere = listenerOf('l3', { node: 2 });
      for (const l of [a, b, elsewhere]) await t.initiators.add(l);
      await t.initiators.add(a);
      const own = await t.initiators.read(1, 'photos', ['a/', 'a/b', '']);
      assert.deepEqual(own.get('a/'), [a, b]);
      assert.deepEqual(own.get('a/b'), []);
      assert.deepEqual(own.get(''), []);
      await t.initiators.remove(a);
      await t.initiators.remove(a);
      assert.deepEqual((await t.initiators.read(1, 'photos', ['a/'])).get('a/'), [b]);
    });

    it('listener records: create counts on the node once, delete uncounts, list is by id', async (t) => {
      await t.listeners.create(listenerOf('l2', { node: 0 }));
      await t.listeners.create(listenerOf('l1', { node: 0 }));
      await t.listeners.create(listenerOf('l1', { node: 0 }));
      await t.listeners.create(listenerOf('l3', { node: 2 }));
      assert.deepEqual(await t.listeners.nodeLoads(4), [2, 0, 1, 0]);
      assert.deepEqual(
        (await t.listeners.list('photos')).map((l) => l.id),
        ['l1', 'l2', 'l3'],
      );
      assert.deepEqual(await t.listeners.list('other'), []);
      assert.equal(await t.listeners.delete(listenerOf('l1', { node: 0 })), true);
      assert.equal(await t.listeners.delete(listenerOf('l1', { node: 0 })), false);
      assert.deepEqual(await t.listeners.nodeLoads(4), [1, 0, 1, 0]);
      assert.equal(await t.listeners.delete(listenerOf('never', { node: 2 })), false);
      assert.deepEqual(await t.listeners.nodeLoads(4), [1, 0, 1, 0], 'none uncounted twice');
      assert.equal(await t.listeners.get('photos', 'l1'), undefined);
    });

    it('deliveries and failures are counted on the record; a deleted listener stays deleted', async (t) => {
      const l = listenerOf('l1');
      await t.listeners.create(l);
      assert.deepEqual(await t.listeners.get('photos', 'l1'), { ...l, delivered: 0, failed: 0 });
      await t.listeners.delivered('photos', 'l1', new Date(T0));
      await t.listeners.delivered('photos', 'l1', new Date(T0 + 1000));
      await t.listeners.failed('photos', 'l1', 'HTTP 503', { id: 'e1' });
      const shown = await t.listeners.get('photos', 'l1');
      assert.equal(shown?.delivered, 2);
      assert.equal(shown?.failed, 1);
      assert.equal(shown?.lastError, 'HTTP 503');
      assert.equal(shown?.lastDeliveredAt, new Date(T0 + 1000).toISOString());
      await t.listeners.delete(l);
      await t.listeners.delivered('photos', 'l1', new Date(T0));
      await t.listeners.failed('photos', 'l1', 'late', { id: 'e2' });
      assert.equal(await t.listeners.get('photos', 'l1'), undefined);
      assert.deepEqual(await t.listeners.list('photos'), []);
    });

    it('a listener made temporary while it is created is made permanent once, and never found expired after; an expired one is not made', async (t) => {
      // Prepare: two provisional listeners (the factories' stores read T0 as now).
      const now = Math.floor(T0 / 1000);
      await t.listeners.create(listenerOf('m1', { expiresAt: now + 120 }));
      await t.listeners.create(listenerOf('m2', { expiresAt: now - 1, node: 2 }));

      // Act
      const made = await t.listeners.makePermanent('photos', 'm1');
      const again = await t.listeners.makePermanent('photos', 'm1');
      const late = await t.listeners.makePermanent('photos', 'm2');

      // Assess
      assert.deepEqual(made, listenerOf('m1'));
      assert.deepEqual(again, listenerOf('m1'), 'a repeat answers it as it is');
      assert.equal(late, undefined, 'expired: left to the sweep');
      assert.equal(await t.listeners.makePermanent('photos', 'nope'), undefined, 'unknown');
      const got = await t.listeners.get('photos', 'm1');
      assert.equal(got?.expiresAt, undefined);
      assert.deepEqual(
        (await t.listeners.expiredTemporary(T0 + 3_600_000)).map((l) => l.id),
        ['m2'],
      );
      assert.equal(
        await t.listeners.renew('photos', 'm1', now + 500),
        undefined,
        'permanent: no renewal',
      );
    });

    it('temporary listeners: a renewal moves the expiry of a live one only; the expired ones are found until deleted', async (t) => {
      // Prepare: one live, one expired, one permanent (the factories' stores read T0 as now).
      const now = Math.floor(T0 / 1000);
      const live = listenerOf('t1', { expiresAt: now + 100 });
      const gone = listenerOf('t2', { expiresAt: now - 10, node: 2 });
      const kept = listenerOf('p1');
      for (const l of [live, gone, kept]) await t.listeners.create(l);

      // Act and assess
      assert.deepEqual(await t.listeners.expiredTemporary(T0), [gone]);
      assert.deepEqual(await t.listeners.renew('photos', 't1', now + 200), {
        ...live,
        expiresAt: now + 200,
      });
      assert.equal((await t.listeners.get('photos', 't1'))?.expiresAt, now + 200);
      assert.equal(await t.listeners.renew('photos', 't2', now + 200), undefined, 'expired');
      assert.equal(await t.listeners.renew('photos', 'p1', now + 200), undefined, 'permanent');
      assert.equal(await t.listeners.renew('photos', 'nope', now + 200), undefined, 'unknown');
      const later = (await t.listeners.expiredTemporary(T0 + 300_000)).map((l) => l.id);
      assert.deepEqual(later.sort(), ['t1', 't2']);
      assert.equal(await t.listeners.delete(gone), true);
      assert.deepEqual(await t.listeners.expiredTemporary(T0), []);
      assert.deepEqual(await t.listeners.nodeLoads(4), [0, 2, 0, 0]);
    });
  });
}

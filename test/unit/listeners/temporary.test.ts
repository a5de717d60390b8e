import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError, ListenerNotFoundError } from '../../../shared/errors.ts';
import {
  createListener,
  PROVISIONAL_SECONDS,
  removeListener,
  renewListener,
  sweepTemporaryListeners,
  type WatchQueues,
} from '../../../shared/listeners/index.ts';
import { silentLogger } from '../../../shared/log.ts';
import { listenersWorld } from '../../helpers/listeners-world.ts';

const queue = (name: string) => `http://localhost:4566/000000000000/${name}`;

/** Watch queues that remember what was removed. */
function recordingQueues(): WatchQueues & { removed: string[] } {
  const removed: string[] = [];
  return {
    removed,
    remove: async (url) => {
      removed.push(url);
    },
  };
}

/** The janitor's sweep over world `w`'s stores, its watch queues recorded. */
function sweepOf(w: ReturnType<typeof listenersWorld>, queues = recordingQueues()) {
  return {
    listeners: w.listeners,
    initiators: w.initiators,
    participants: w.participants,
    watchQueues: queues,
    clock: w.clock,
    log: silentLogger,
  };
}

test('a renewal gives a temporary listener its time again, on its record and on its node, so it keeps hearing events', async () => {
  // Prepare
  const w = listenersWorld(1);
  const l = await createListener(w.registry, 'photos', {
    path: 'w/',
    ttlSeconds: 60,
    target: { type: 'sqs', queueUrl: queue('dsn-watch-a.fifo') },
  });
  w.clock.advance(50_000);

  // Act
  const renewed = await renewListener(w.registry, 'photos', l.id, { ttlSeconds: 60 });
  w.clock.advance(50_000); // 100 s after creation: past the first expiry, not the second
  await w.announce(w.committed('w/x'));
  await w.pump();

  // Assess
  assert.equal(renewed.expiresAt, new Date(w.clock.now() - 50_000 + 60_000).toISOString());
  assert.equal(w.targets.documents(queue('dsn-watch-a.fifo')).length, 1);
});

test('a renewal is refused for a permanent listener (400), and for an expired or unknown one (404); a bad body names the field', async () => {
  // Prepare
  const w = listenersWorld(1);
  const permanent = await createListener(w.registry, 'photos', {
    path: 'p/',
    target: { type: 'sqs', queueUrl: queue('p') },
  });
  const brief = await createListener(w.registry, 'photos', {
    path: 't/',
    ttlSeconds: 1,
    target: { type: 'sqs', queueUrl: queue('t') },
  });
  w.clock.advance(2000);

  // Act and assess
  await assert.rejects(
    renewListener(w.registry, 'photos', permanent.id, { ttlSeconds: 60 }),
    (err: InvalidParameterError) =>
      err instanceof InvalidParameterError && err.field === 'ttlSeconds',
  );
  await assert.rejects(
    renewListener(w.registry, 'photos', brief.id, { ttlSeconds: 60 }),
    ListenerNotFoundError,
  );
  await assert.rejects(
    renewListener(w.registry, 'photos', 'lnothere', { ttlSeconds: 60 }),
    ListenerNotFoundError,
  );
  await assert.rejects(
    renewListener(w.registry, 'photos', permanent.id, { ttlSeconds: 0 }),
    /ttlSeconds: /,
  );
  await assert.rejects(
    renewListener(w.registry, 'photos', permanent.id, { ttl: 60 }),
    /not a renewal field/,
  );
});

test('the sweep removes expired temporary listeners everywhere and their watch queues, leaves the rest, and finds nothing the second time', async () => {
  // Prepare: an expired watch, an expired temporary listener on a user's queue, a live watch,
  // and a permanent listener, all on one node and one path.
  const w = listenersWorld(1);
  const make = (name: string, ttlSeconds?: number) =>
    createListener(w.registry, 'photos', {
      path: 'w/',
      target: { type: 'sqs', queueUrl: queue(name) },
      ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
    });
  const watch = await make('dsn-watch-old.fifo', 60);
  const theirs = await make('their-queue', 60);
  w.clock.advance(30_000);
  const live = await make('dsn-watch-new.fifo', 60);
  const kept = await make('permanent');
  w.clock.advance(31_000);
  const queues = recordingQueues();
  const deps = sweepOf(w, queues);

  // Act
  const first = await sweepTemporaryListeners(deps);
  const second = await sweepTemporaryListeners(deps);

  // Assess
  assert.deepEqual(first, { listeners: 2, queues: 1 });
  assert.deepEqual(second, { listeners: 0, queues: 0 });
  assert.deepEqual(queues.removed, [queue('dsn-watch-old.fifo')]);
  assert.deepEqual(
    [...w.listeners.records.values()].map((l) => l.id).sort(),
    [live.id, kept.id].sort(),
  );
  const own = (await w.initiators.read(0, 'photos', ['w/'])).get('w/') ?? [];
  assert.deepEqual(own.map((l) => l.id).sort(), [live.id, kept.id].sort());
  assert.deepEqual(await w.listeners.nodeLoads(1), [2]);
  assert.deepEqual(w.participants.nodesOn('photos', 'w/'), [0], 'others still listen there');
  assert.equal(await w.listeners.get('photos', watch.id), undefined);
  assert.equal(await w.listeners.get('photos', theirs.id), undefined);
});

test("the sweep takes the node out of the entry when the expired listener was the path's last", async () => {
  // Prepare
  const w = listenersWorld(1);
  await createListener(w.registry, 'photos', {
    path: 'alone/',
    ttlSeconds: 60,
    target: { type: 'sqs', queueUrl: queue('dsn-watch-x.fifo') },
  });
  w.clock.advance(61_000);

  // Act
  await sweepTemporaryListeners(sweepOf(w));

  // Assess
  assert.deepEqual(w.participants.nodesOn('photos', 'alone/'), []);
  assert.deepEqual(await w.listeners.nodeLoads(1), [0]);
});

test('a permanent listener whose creator was killed between any two of its steps expires and is swept whole; one made whole stays, and its node serves it past that time', async () => {
  // The steps a creation takes after its record, each where the creator may die: the node's
  // temporary copy, the participant entry, the node's permanent copy, the record made permanent.
  const hang = () => new Promise<never>(() => {});
  const kills = ['add', 'join', 'add again', 'makePermanent'] as const;
  for (const kill of kills) {
    // Prepare: the creator's stores, dying at `kill` (its call never answers, as a killed
    // process's does not).
    const w = listenersWorld(1);
    const initiators = Object.create(w.initiators) as typeof w.initiators;
    let adds = 0;
    initiators.add = (l) => {
      const n = adds++;
      return (kill === 'add' && n === 0) || (kill === 'add again' && n === 1)
        ? hang()
        : w.initiators.add(l);
    };
    const participants = Object.create(w.participants) as typeof w.participants;
    participants.join = (...a) => (kill === 'join' ? hang() : w.participants.join(...a));
    const listeners = Object.create(w.listeners) as typeof w.listeners;
    listeners.makePermanent = (...a) =>
      kill === 'makePermanent' ? hang() : w.listeners.makePermanent(...a);

    // Act: the creation dies; later the janitor's sweep runs, past the provisional time.
    void createListener({ ...w.registry, initiators, participants, listeners }, 'photos', {
      path: 'k/',
      target: { type: 'sqs', queueUrl: queue('kept') },
    });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const listed = await w.listeners.list('photos');
    w.clock.advance(PROVISIONAL_SECONDS * 1000 + 1000);
    const swept = await sweepTemporaryListeners(sweepOf(w));

    // Assess: it was made as far as `kill`, then removed everywhere.
    assert.equal(listed.length, 1, `${kill}: its record was written`);
    assert.deepEqual(swept, { listeners: 1, queues: 0 }, kill);
    assert.deepEqual(await w.listeners.list('photos'), [], kill);
    assert.deepEqual((await w.initiators.read(0, 'photos', ['k/'])).get('k/'), [], kill);
    assert.deepEqual(w.participants.nodesOn('photos', 'k/'), [], kill);
    assert.deepEqual(await w.listeners.nodeLoads(1), [0], kill);
  }

  // Prepare: a creation that completes.
  const w = listenersWorld(1);
  const made = await createListener(w.registry, 'photos', {
    path: 'k/',
    target: { type: 'sqs', queueUrl: queue('kept') },
  });

  // Act: long past the provisional time, a sweep, then an event.
  w.clock.advance(3_600_000);
  const swept = await sweepTemporaryListeners(sweepOf(w));
  await w.announce(w.committed('k/x'));
  await w.pump();

  // Assess
  assert.equal(made.expiresAt, undefined);
  assert.deepEqual(swept, { listeners: 0, queues: 0 });
  assert.equal((await w.listeners.get('photos', made.id))?.expiresAt, undefined);
  const [copy] = (await w.initiators.read(0, 'photos', ['k/'])).get('k/') ?? [];
  assert.equal(copy?.expiresAt, undefined, "the node's copy is permanent");
  assert.equal(w.targets.documents(queue('kept')).length, 1, 'served past that time');
});

test("a listener renewed after its sweep entry went stale (the renewal's second write failed) is kept, its entry given its time again", async () => {
  // Prepare: the sweep's entry says expired, the record was renewed.
  const w = listenersWorld(1);
  const l = await createListener(w.registry, 'photos', {
    path: 'w/',
    ttlSeconds: 60,
    target: { type: 'sqs', queueUrl: queue('dsn-watch-r.fifo') },
  });
  w.clock.advance(50_000);
  await renewListener(w.registry, 'photos', l.id, { ttlSeconds: 60 });
  w.clock.advance(20_000); // past the first expiry, not the renewed one
  const record = await w.listeners.get('photos', l.id);
  assert.ok(record?.expiresAt);
  const stale = { ...record, expiresAt: record.expiresAt - 50 };
  const renewedTo: number[] = [];
  const listeners = Object.assign(Object.create(w.listeners), {
    expiredTemporary: async () => [stale],
    renew: async (vault: string, id: string, at: number) => {
      renewedTo.push(at);
      return w.listeners.renew(vault, id, at);
    },
  });
  const queues = recordingQueues();

  // Act
  const report = await sweepTemporaryListeners({ ...sweepOf(w, queues), listeners });

  // Assess
  assert.deepEqual(report, { listeners: 0, queues: 0 });
  assert.deepEqual(queues.removed, []);
  assert.ok(await w.listeners.get('photos', l.id), 'kept');
  assert.equal(renewedTo.length, 1);
  await w.announce(w.committed('w/y'));
  await w.pump();
  assert.equal(w.targets.documents(queue('dsn-watch-r.fifo')).length, 1, 'still hears events');
});

test("a renewal after the node left the path (its copy expired first: a renewal's second write was lost) joins it again, so events reach the listener", async () => {
  // Prepare: a renewal whose write of the node's copy fails, then an event past the copy's
  // expiry: the node drops its copy and leaves the path's participant entry.
  const w = listenersWorld(1);
  const l = await createListener(w.registry, 'photos', {
    path: 'w/',
    ttlSeconds: 60,
    target: { type: 'sqs', queueUrl: queue('dsn-watch-b.fifo') },
  });
  w.clock.advance(50_000);
  const add = w.initiators.add.bind(w.initiators);
  w.initiators.add = async () => {
    throw new Error('the write of the node copy was lost');
  };
  await assert.rejects(renewListener(w.registry, 'photos', l.id, { ttlSeconds: 60 }));
  w.initiators.add = add;
  w.clock.advance(20_000); // 70 s: past the copy's expiry, within the record's
  await w.announce(w.committed('w/early'));
  await w.pump();
  const [left] = await w.participants.read('photos', ['w/']);

  // Act: the next renewal, then an event.
  await renewListener(w.registry, 'photos', l.id, { ttlSeconds: 60 });
  await w.announce(w.committed('w/late'));
  await w.pump();

  // Assess
  assert.ok(!left?.nodes.length, 'the node had left the path');
  const heard = w.targets.documents(queue('dsn-watch-b.fifo')) as Array<{ key?: string }>;
  assert.deepEqual(
    heard.map((d) => d.key),
    ['w/late'],
  );
});

test('a renewal racing a removal leaves nothing for the node: the listener hears nothing after, and the renewal says it is gone', async () => {
  // Prepare: the removal runs while the renewal is between its record and the node's copy.
  const w = listenersWorld(1);
  const l = await createListener(w.registry, 'photos', {
    path: 'r/',
    ttlSeconds: 60,
    target: { type: 'sqs', queueUrl: queue('dsn-watch-c.fifo') },
  });
  const add = w.initiators.add.bind(w.initiators);
  let raced = false;
  w.initiators.add = async (listener) => {
    if (!raced) {
      raced = true;
      await removeListener(w.registry, 'photos', l.id);
    }
    return add(listener);
  };

  // Act
  const renewal = renewListener(w.registry, 'photos', l.id, { ttlSeconds: 60 });
  await assert.rejects(renewal, ListenerNotFoundError);
  w.initiators.add = add;
  await w.announce(w.committed('r/x'));
  await w.pump();

  // Assess
  assert.deepEqual(w.targets.documents(queue('dsn-watch-c.fifo')), []);
  const [entry] = await w.participants.read('photos', ['r/']);
  assert.ok(!entry?.nodes.length, 'the node left the path again');
});

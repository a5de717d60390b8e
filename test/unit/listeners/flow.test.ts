import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock as realClock } from '../../../shared/clock.ts';
import { ListenerCapacityError, ListenerNotFoundError, statusOf } from '../../../shared/errors.ts';
import {
  createListener,
  deliverOnNode,
  fanOut,
  type InitiatorStore,
  listListeners,
  NodeFullError,
  removeListener,
  showListener,
  signature,
} from '../../../shared/listeners/index.ts';
import { listenersWorld } from '../../helpers/listeners-world.ts';

const queue = (name: string) => `http://localhost:4566/000000000000/${name}`;

test('overlapping exact, recursive and whole-vault listeners each get one event per commit and per delete; an unrelated path gets none', async () => {
  // Prepare
  const w = listenersWorld(4);
  const exact = await createListener(w.registry, 'photos', {
    path: '2026/12/a.jpg',
    target: { type: 'sqs', queueUrl: queue('exact') },
  });
  const dir = await createListener(w.registry, 'photos', {
    path: '2026/',
    target: { type: 'sqs', queueUrl: queue('dir') },
  });
  const vault = await createListener(w.registry, 'photos', {
    path: '',
    target: { type: 'sqs', queueUrl: queue('vault') },
  });
  await createListener(w.registry, 'photos', {
    path: '2025/',
    target: { type: 'sqs', queueUrl: queue('other') },
  });

  // Act
  await w.announce(w.committed('2026/12/a.jpg'));
  await w.pump();
  await w.announce(w.deleted('2026/12/a.jpg'));
  await w.pump();

  // Assess
  for (const [listener, name] of [
    [exact, 'exact'],
    [dir, 'dir'],
    [vault, 'vault'],
  ] as const) {
    const docs = w.targets.documents(queue(name));
    assert.deepEqual(
      docs.map((d) => [d.type, d.sequence, d.listener, d.matched]),
      [
        ['object.committed', 1, listener.id, listener.path],
        ['object.deleted', 2, listener.id, listener.path],
      ],
      name,
    );
  }
  assert.equal(w.targets.documents(queue('other')).length, 0);
  const [commit] = w.targets.documents(queue('exact'));
  assert.deepEqual(Object.keys(commit ?? {}), [
    'id',
    'type',
    'vault',
    'key',
    'revision',
    'size',
    'sha256',
    'sequence',
    'time',
    'listener',
    'matched',
  ]);
  const [, del] = w.targets.documents(queue('dir'));
  assert.equal('size' in (del ?? {}), false);
  assert.equal('sha256' in (del ?? {}), false);
});

test('one event sends one message per listening node, not per listener, after one read of depth + 1 paths', async () => {
  // Prepare: 40 listeners on the ancestors of one key spread over 4 nodes.
  const w = listenersWorld(4);
  const paths = ['', 'a/', 'a/b/', 'a/b/c.txt'];
  for (let i = 0; i < 40; i++)
    await createListener(w.registry, 'photos', {
      path: paths[i % 4],
      target: { type: 'sqs', queueUrl: queue(`q${i}`) },
    });
  w.participants.reads.length = 0;

  // Act
  const result = await w.announce(w.committed('a/b/c.txt'));

  // Assess
  assert.equal(result.messages, 4);
  assert.equal(w.nodes.sent, 4);
  assert.deepEqual(w.participants.reads, [['a/b/c.txt', 'a/b/', 'a/', '']]);
  await w.pump();
  assert.equal(w.targets.sent.length, 40);
});

test('a non-recursive directory listener hears its direct children only', async () => {
  const w = listenersWorld(2);
  await createListener(w.registry, 'photos', {
    path: 'a/',
    recursive: false,
    target: { type: 'sqs', queueUrl: queue('flat') },
  });
  await w.announce(w.committed('a/x.txt'));
  await w.announce(w.committed('a/b/y.txt'));
  await w.pump();
  assert.deepEqual(
    w.targets.documents(queue('flat')).map((d) => d.key),
    ['a/x.txt'],
  );
});

test('a listener filtered to some event types gets only those', async () => {
  const w = listenersWorld(1);
  await createListener(w.registry, 'photos', {
    path: '',
    events: ['object.deleted'],
    target: { type: 'sqs', queueUrl: queue('deletes') },
  });
  await w.announce(w.committed('k'));
  await w.announce(w.deleted('k'));
  await w.pump();
  assert.deepEqual(
    w.targets.documents(queue('deletes')).map((d) => d.type),
    ['object.deleted'],
  );
});

test('object.quarantined goes only to listeners that name it; the default stays the four object events', async () => {
  // Prepare
  const w = listenersWorld(1);
  const plain = await createListener(w.registry, 'photos', {
    path: '',
    target: { type: 'sqs', queueUrl: queue('plain') },
  });
  await createListener(w.registry, 'photos', {
    path: '',
    events: ['object.quarantined'],
    target: { type: 'sqs', queueUrl: queue('quarantine') },
  });
  const quarantined = { ...w.committed('k'), type: 'object.quarantined' as const };

  // Act
  await w.announce(w.committed('k'));
  await w.announce(quarantined);
  await w.pump();

  // Assess
  assert.deepEqual(plain.events, [
    'object.committed',
    'object.deleted',
    'object.lost',
    'object.repaired',
  ]);
  assert.deepEqual(
    w.targets.documents(queue('plain')).map((d) => d.type),
    ['object.committed'],
  );
  assert.deepEqual(
    w.targets.documents(queue('quarantine')).map((d) => [d.type, d.key]),
    [['object.quarantined', 'k']],
  );
});

test('deleting a listener stops delivery and prunes its node from the participant entry', async () => {
  // Prepare
  const w = listenersWorld(4);
  const gone = await createListener(w.registry, 'photos', {
    path: 'docs/',
    target: { type: 'sqs', queueUrl: queue('gone') },
  });
  assert.deepEqual(w.participants.nodesOn('photos', 'docs/'), [gone.node]);

  // Act
  await removeListener(w.registry, 'photos', gone.id);
  await w.announce(w.committed('docs/x'));
  await w.pump();

  // Assess
  assert.equal(w.targets.sent.length, 0);
  assert.deepEqual(w.participants.nodesOn('photos', 'docs/'), []);
  assert.equal(w.nodes.sent, 0);
  await assert.rejects(removeListener(w.registry, 'photos', gone.id), ListenerNotFoundError);
  assert.deepEqual(await listListeners(w.registry, 'photos'), []);
});

test('a listener whose node could not join its path is undone, not left listed and never served', async () => {
  // Prepare: the participant entry refuses the join once (throttled).
  const w = listenersWorld(4);
  const join = w.participants.join.bind(w.participants);
  w.participants.join = async () => {
    w.participants.join = join;
    throw new Error('throttled');
  };

  // Act
  await assert.rejects(
    createListener(w.registry, 'photos', {
      path: 'docs/',
      target: { type: 'sqs', queueUrl: queue('half') },
    }),
    /throttled/,
  );
  const retried = await createListener(w.registry, 'photos', {
    path: 'docs/',
    target: { type: 'sqs', queueUrl: queue('whole') },
  });
  await w.announce(w.committed('docs/x'));
  await w.pump();

  // Assess: only the retried listener is there, and it is served.
  assert.deepEqual(
    (await listListeners(w.registry, 'photos')).map((l) => l.id),
    [retried.id],
  );
  assert.deepEqual(
    w.targets.sent.map((m) => m.to),
    [queue('whole')],
  );
});

test('a listener whose node is full goes to the next least loaded one, undone where it was refused; with every node full the create says so (507), leaving nothing', async () => {
  // Prepare: node 0 can count no listener at all; node 1 none on docs/ (their items are full).
  const w = listenersWorld(3);
  const create = w.listeners.create.bind(w.listeners);
  w.listeners.create = async (l) => {
    await create(l);
    if (l.node === 0) throw new NodeFullError(0, 'at all');
  };
  const add = w.initiators.add.bind(w.initiators);
  w.initiators.add = async (l) => {
    if (l.node === 1 && l.path === 'docs/') throw new NodeFullError(1, 'on path "docs/"');
    await add(l);
  };
  const request = (path: string, name: string) => ({
    path,
    target: { type: 'sqs' as const, queueUrl: queue(name) },
  });

  // Act
  const docs = await createListener(w.registry, 'photos', request('docs/', 'docs'));
  const pics = await createListener(w.registry, 'photos', request('pics/', 'pics'));
  const loads = await w.listeners.nodeLoads(3);
  await w.announce(w.committed('docs/x'));
  await w.pump();
  w.initiators.add = async (l) => {
    throw new NodeFullError(l.node, 'on path');
  };
  const refused = await createListener(w.registry, 'photos', request('full/', 'full')).catch(
    (err: unknown) => err,
  );

  // Assess: placed past the full nodes, served there, and counted there only.
  assert.deepEqual([docs.node, pics.node], [2, 1]);
  assert.deepEqual(loads, [0, 1, 1]);
  assert.deepEqual(
    w.targets.sent.map((m) => m.to),
    [queue('docs')],
  );
  assert.ok(refused instanceof ListenerCapacityError, String(refused));
  assert.equal(statusOf(refused), 507);
  assert.match(refused.message, /no listener node can take another listener on path "full\/"/);
  assert.deepEqual(
    (await listListeners(w.registry, 'photos')).map((l) => l.id).sort(),
    [docs.id, pics.id].sort(),
    'nothing left of the refused attempts',
  );
  assert.deepEqual(await w.listeners.nodeLoads(3), [0, 1, 1]);
});

test('a prune conditional on the version loses to a listener that joined after the node looked', async () => {
  // Prepare: node 0's only listener on docs/ left the initiator structure, but a removal died
  // before the participant entry; an event is announced with the entry's version.
  const w = listenersWorld(1);
  const old = await createListener(w.registry, 'photos', {
    path: 'docs/',
    target: { type: 'sqs', queueUrl: queue('old') },
  });
  await w.initiators.remove({ ...old, vault: 'photos' });
  await w.announce(w.committed('docs/a'));
  const [message] = w.nodes.take(0);
  assert.ok(message);
  // The node reads its (empty) initiator entry, and a new listener joins right then.
  let joined: Awaited<ReturnType<typeof createListener>> | undefined;
  const racing: InitiatorStore = {
    read: async (node, vault, paths) => {
      const seen = await w.initiators.read(node, vault, paths);
      joined = await createListener(w.registry, 'photos', {
        path: 'docs/',
        target: { type: 'sqs', queueUrl: queue('new') },
      });
      return seen;
    },
    add: (l) => w.initiators.add(l),
    remove: (l) => w.initiators.remove(l),
  };

  // Act
  const outcome = await deliverOnNode({ ...w.nodeDeps(0), initiators: racing }, message);

  // Assess: the prune failed, the entry keeps node 0, and the next event reaches the newcomer.
  assert.deepEqual(outcome.pruned, []);
  assert.deepEqual(w.participants.nodesOn('photos', 'docs/'), [0]);
  await w.announce(w.committed('docs/b'));
  await w.pump();
  assert.deepEqual(
    w.targets.documents(queue('new')).map((d) => [d.key, d.listener]),
    [['docs/b', joined?.id]],
  );
});

test('removing the last listener of one node while events flow loses no event of the other nodes, and the stale entry goes', async () => {
  // Prepare: two listeners on docs/, on nodes 0 and 1.
  const w = listenersWorld(2);
  const a = await createListener(w.registry, 'photos', {
    path: 'docs/',
    target: { type: 'sqs', queueUrl: queue('a') },
  });
  const b = await createListener(w.registry, 'photos', {
    path: 'docs/',
    target: { type: 'sqs', queueUrl: queue('b') },
  });
  assert.notEqual(a.node, b.node);

  // Act: events before, during and after a's removal, with a's removal of the entry skipped
  // (as if it died after leaving the initiator structure).
  for (let i = 0; i < 5; i++) await w.announce(w.committed(`docs/${i}`));
  await w.pump();
  await w.initiators.remove({ ...a, vault: 'photos' });
  for (let i = 5; i < 10; i++) await w.announce(w.committed(`docs/${i}`));
  const outcomes = await w.pump();
  const late = [];
  for (let i = 10; i < 15; i++) late.push(await w.announce(w.committed(`docs/${i}`)));
  await w.pump();

  // Assess
  assert.equal(w.targets.documents(queue('b')).length, 15);
  assert.equal(w.targets.documents(queue('a')).length, 5);
  assert.ok(outcomes.some((o) => o.pruned.includes('docs/')));
  assert.deepEqual(w.participants.nodesOn('photos', 'docs/'), [b.node]);
  assert.deepEqual(
    late.map((r) => r.messages),
    [1, 1, 1, 1, 1],
  );
});

test('a redelivered node message gives each listener the event again with the same id', async () => {
  const w = listenersWorld(1);
  await createListener(w.registry, 'photos', {
    path: '',
    target: { type: 'sqs', queueUrl: queue('q') },
  });
  await w.announce(w.committed('k'));
  const [message] = w.nodes.take(0);
  assert.ok(message);
  await deliverOnNode(w.nodeDeps(0), message);
  await deliverOnNode(w.nodeDeps(0), structuredClone(message));
  const docs = w.targets.documents(queue('q'));
  assert.equal(docs.length, 2);
  assert.equal(docs[0]?.id, docs[1]?.id);
  assert.equal(docs[0]?.sequence, docs[1]?.sequence);
});

test('the sequence of a key grows with each announcement, and keys count apart', async () => {
  const w = listenersWorld(2);
  await createListener(w.registry, 'photos', {
    path: '',
    target: { type: 'sqs', queueUrl: queue('q') },
  });
  for (let i = 0; i < 3; i++) await w.announce(w.committed('x'));
  await w.announce(w.committed('y'));
  await w.pump();
  assert.deepEqual(
    w.targets.documents(queue('q')).map((d) => `${d.key}${d.sequence}`),
    ['x1', 'x2', 'x3', 'y1'],
  );
});

test('a webhook is signed with HMAC-SHA256 of the raw body, and carries the event id', async () => {
  const w = listenersWorld(1);
  await createListener(w.registry, 'photos', {
    path: '',
    target: { type: 'webhook', url: 'https://example.com/hook', secret: 's3cret' },
  });
  await w.announce(w.committed('k'));
  await w.pump();
  const [sent] = w.targets.sent;
  assert.ok(sent?.headers);
  assert.equal(sent.headers['x-dsn-signature'], signature('s3cret', sent.body));
  assert.match(sent.headers['x-dsn-signature'] ?? '', /^sha256=[0-9a-f]{64}$/);
  assert.equal(sent.headers['x-dsn-event-id'], JSON.parse(sent.body).id);
});

test('a failing webhook gets 5 attempts with doubling delays, then counts as failed', async () => {
  // Prepare
  const w = listenersWorld(1);
  const hook = await createListener(w.registry, 'photos', {
    path: '',
    target: { type: 'webhook', url: 'https://example.com/down' },
  });
  w.targets.answer = () => ({ status: 503 });
  await w.announce(w.committed('k'));
  const [message] = w.nodes.take(0);
  assert.ok(message);
  const delays: number[] = [];
  const clock = {
    now: () => w.clock.now(),
    date: () => w.clock.date(),
    sleep: async (ms: number) => {
      delays.push(ms);
    },
  };
  const deps = {
    ...w.nodeDeps(0),
    retry: { attempts: 5, firstDelayMs: 100, timeoutMs: 1000 },
    clock,
  };

  // Act
  const outcome = await deliverOnNode(deps, message);

  // Assess
  assert.equal(w.targets.sent.length, 5);
  assert.deepEqual(delays, [100, 200, 400, 800]);
  assert.equal(outcome.failed, 1);
  const shown = await showListener(w.registry, 'photos', hook.id);
  assert.equal(shown.failed, 1);
  assert.equal(shown.delivered, 0);
  assert.equal(shown.lastError, 'HTTP 503');
});

test('a webhook that recovers within its attempts gets the event, counted as delivered', async () => {
  const w = listenersWorld(1);
  const hook = await createListener(w.registry, 'photos', {
    path: '',
    target: { type: 'webhook', url: 'https://example.com/flaky' },
  });
  w.targets.answer = (_url, attempt) => (attempt < 3 ? { error: 'timeout' } : { status: 204 });
  await w.announce(w.committed('k'));
  await w.pump();
  assert.equal(w.targets.sent.length, 3);
  const shown = await showListener(w.registry, 'photos', hook.id);
  assert.equal(shown.delivered, 1);
  assert.equal(shown.failed, 0);
  assert.equal(typeof shown.lastDeliveredAt, 'string');
});

test('listeners are placed on the least loaded node, and a secret is never shown', async () => {
  const w = listenersWorld(3);
  const made = [];
  for (let i = 0; i < 6; i++)
    made.push(
      await createListener(w.registry, 'photos', {
        path: `p${i}`,
        target: { type: 'webhook', url: 'http://h/x', secret: 'hidden' },
      }),
    );
  assert.deepEqual(
    made.map((l) => l.node),
    [0, 1, 2, 0, 1, 2],
  );
  assert.equal(JSON.stringify(await listListeners(w.registry, 'photos')).includes('hidden'), false);
  assert.deepEqual(made[0]?.target, { type: 'webhook', url: 'http://h/x' });
});

test('an expired temporary listener gets nothing, leaves its node, and the node leaves the entry', async () => {
  // Prepare
  const w = listenersWorld(1);
  await createListener(w.registry, 'photos', {
    path: 'tmp/',
    ttlSeconds: 60,
    target: { type: 'sqs', queueUrl: queue('tmp') },
  });
  w.clock.advance(61_000);

  // Act
  await w.announce(w.committed('tmp/x'));
  const [outcome] = await w.pump();

  // Assess
  assert.equal(w.targets.sent.length, 0);
  assert.deepEqual(outcome?.pruned, ['tmp/']);
  assert.deepEqual(w.participants.nodesOn('photos', 'tmp/'), []);
  assert.deepEqual((await w.initiators.read(0, 'photos', ['tmp/'])).get('tmp/'), []);
});

test('concurrent announcements of one key are sent in sequence order, whatever order they run in', async () => {
  // Prepare: announcement 1 takes its number, then stalls before sending, while 2 and 3 run.
  const w = listenersWorld(1);
  await createListener(w.registry, 'photos', {
    path: '',
    target: { type: 'sqs', queueUrl: queue('q') },
  });
  let release: () => void = () => {};
  const stalled = new Promise<void>((r) => {
    release = r;
  });
  const sends: number[] = [];
  const nodes = {
    count: 1,
    send: async (node: number, message: Parameters<typeof w.nodes.send>[1]) => {
      if (message.event.sequence === 1) await stalled;
      sends.push(message.event.sequence);
      await w.nodes.send(node, message);
    },
  };
  const deps = { ...w.fanOutDeps, nodes, clock: { ...realClock } };

  // Act
  const first = fanOut(deps, w.committed('k'));
  await new Promise((r) => setTimeout(r, 5));
  const later = [fanOut(deps, w.committed('k')), fanOut(deps, w.committed('k'))];
  await new Promise((r) => setTimeout(r, 50));
  release();
  await Promise.all([first, ...later]);

  // Assess
  assert.deepEqual(sends, [1, 2, 3]);
});

test('a number taken and never sent holds the key back for the turn timeout only', async () => {
  // Prepare: number 1 is taken by an announcer that dies before sending.
  const w = listenersWorld(1);
  await createListener(w.registry, 'photos', {
    path: '',
    target: { type: 'sqs', queueUrl: queue('q') },
  });
  await w.participants.next('photos', 'k');
  const started = Date.now();

  // Act
  const result = await fanOut(
    { ...w.fanOutDeps, clock: realClock, turnTimeoutMs: 100 },
    w.committed('k'),
  );

  // Assess
  assert.equal(result.messages, 1);
  assert.ok(Date.now() - started >= 100);
  await fanOut({ ...w.fanOutDeps, clock: realClock, turnTimeoutMs: 10_000 }, w.committed('k'));
  await w.pump();
  assert.deepEqual(
    w.targets.documents(queue('q')).map((d) => d.sequence),
    [2, 3],
  );
});

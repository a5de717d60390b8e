/**
 * Listeners on the local cloud: the committer, the delete path and the delivery nodes as
 * serverless.yml wires them (FIFO node queues on fauxqs, tables on dynalite), reached through
 * the HTTP API only; what listeners receive is read from their own queue or the test's own
 * webhook server.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
  createVault,
  eventually,
  everySliceStored,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';

type Doc = Record<string, unknown>;
interface Explanation {
  segments: Array<{ good: number; pillars: Array<{ key: string; bucket: string }> }>;
}

/** The test's own webhook endpoint: records each call, answers with `answer(call number)`. */
async function hookServer(answer: (n: number) => number = () => 204) {
  const calls: Array<{ at: number; signature?: string; id?: string; raw: string }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls.push({
        at: performance.now(),
        signature: req.headers['x-dsn-signature'] as string | undefined,
        id: req.headers['x-dsn-event-id'] as string | undefined,
        raw: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(answer(calls.length)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    calls,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise((r) => server.close(r)),
  };
}

describe('listeners on the local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let sqs: SQSClient;
  let documents: DynamoDBDocumentClient;
  let s3: S3Client;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const put = (key: string, body: string) =>
    api(`/vaults/ears/objects/${key}`, { method: 'PUT', body });
  const del = (key: string) => api(`/vaults/ears/objects/${key}`, { method: 'DELETE' });
  const listen = async (body: unknown) => {
    const res = await api('/vaults/ears/listeners', {
      method: 'POST',
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as Doc & { id: string; node: number };
  };
  let queues = 0;
  const newQueue = async () => {
    const out = await sqs.send(new CreateQueueCommand({ QueueName: `listener-${++queues}` }));
    return out.QueueUrl as string;
  };
  /** Everything on `queueUrl` until `count` documents came, then a short wait for extras. */
  const drain = async (queueUrl: string, count: number): Promise<Doc[]> => {
    const got: Doc[] = [];
    const take = async (wait: number) => {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: wait,
        }),
      );
      const messages = out.Messages ?? [];
      for (const m of messages) got.push(JSON.parse(m.Body ?? '{}'));
      if (messages.length > 0)
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      return messages.length;
    };
    await eventually(
      async () => {
        await take(1);
        return got.length >= count ? true : undefined;
      },
      `${count} events on ${queueUrl}`,
      30_000,
    );
    while ((await take(1)) > 0);
    return got;
  };
  const participantNodes = async (path: string): Promise<number[]> => {
    const out = await documents.send(
      new GetCommand({
        TableName: cloud.ref('ParticipantsTable'),
        Key: { pk: 'participant#ears', sk: `~${path}` },
        ConsistentRead: true,
      }),
    );
    return [...((out.Item?.nodes as Set<number> | undefined) ?? [])].map(Number).sort();
  };

  before(async () => {
    dir = await tempDir('dsn-listeners');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    const config = {
      region: cloud.service.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    sqs = new SQSClient({ ...config, endpoint: cloud.endpoints.sqs });
    s3 = new S3Client({ ...config, endpoint: cloud.endpoints.s3, forcePathStyle: true });
    documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...config, endpoint: cloud.endpoints.dynamodb }),
    );
    await createVault(api, { name: 'ears', writeThreshold: 5, segmentSize: 64 * 1024 });
  });

  after(async () => {
    sqs?.destroy();
    s3?.destroy();
    documents?.destroy();
    await cloud?.stop();
    await dir?.remove();
  });

  test('exact, recursive and whole-vault listeners each get the exact event document once per PUT and per DELETE; an unrelated path gets none', async () => {
    // Prepare
    const [exactQ, dirQ, vaultQ, otherQ] = await Promise.all([1, 2, 3, 4].map(newQueue));
    const exact = await listen({ path: 'a/b/c.txt', target: { type: 'sqs', queueUrl: exactQ } });
    const dirL = await listen({ path: 'a/', target: { type: 'sqs', queueUrl: dirQ } });
    const vault = await listen({ path: '', target: { type: 'sqs', queueUrl: vaultQ } });
    await listen({ path: 'z/', target: { type: 'sqs', queueUrl: otherQ } });
    assert.equal(exact.recursive, false);
    assert.equal(dirL.recursive, true);
    assert.deepEqual(vault.events, [
      'object.committed',
      'object.deleted',
      'object.lost',
      'object.repaired',
    ]);

    // Act
    const res = await put('a/b/c.txt', 'hello');
    assert.equal(res.status, 201, await res.clone().text());
    const { revision } = (await res.json()) as { revision: string };
    assert.equal((await del('a/b/c.txt')).status, 204);

    // Assess
    for (const [listener, queueUrl] of [
      [exact, exactQ],
      [dirL, dirQ],
      [vault, vaultQ],
    ] as const) {
      const docs = await drain(queueUrl as string, 2);
      assert.equal(docs.length, 2, `${listener.path}: one event per commit and per delete`);
      const [commit, gone] = docs.sort((x, y) => Number(x.sequence) - Number(y.sequence));
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
      assert.deepEqual(
        { ...commit, id: typeof commit?.id, time: typeof commit?.time },
        {
          id: 'string',
          type: 'object.committed',
          vault: 'ears',
          key: 'a/b/c.txt',
          revision,
          size: 5,
          sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
          sequence: commit?.sequence,
          time: 'string',
          listener: listener.id,
          matched: listener.path,
        },
      );
      assert.deepEqual(Object.keys(gone ?? {}), [
        'id',
        'type',
        'vault',
        'key',
        'revision',
        'sequence',
        'time',
        'listener',
        'matched',
      ]);
      assert.equal(gone?.type, 'object.deleted');
      // A committer that reran the commit's tasks took a number the node queue then dropped.
      assert.ok(Number(commit?.sequence) >= 1, 'a sequence number');
      assert.ok(Number(gone?.sequence) > Number(commit?.sequence), 'the delete comes later');
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await drain(otherQ as string, 0)).length, 0);
  });

  test('a webhook gets the event signed with its secret, and the listener counts it delivered', async () => {
    // Prepare: the test's own server; the signature is checked against the raw body it got.
    const server = await hookServer();
    try {
      const { url } = server;
      const hook = await listen({
        path: 'hooks/',
        target: { type: 'webhook', url, secret: 'hush' },
      });
      assert.deepEqual(hook.target, { type: 'webhook', url }, 'the secret is not echoed');

      // Act
      assert.equal((await put('hooks/x', 'x')).status, 201);

      // Assess
      await eventually(
        async () => (server.calls.length > 0 ? true : undefined),
        'the webhook call',
      );
      const got = server.calls.map((c) => ({
        ok: c.signature === `sha256=${createHmac('sha256', 'hush').update(c.raw).digest('hex')}`,
        id: c.id,
        body: JSON.parse(c.raw) as Doc,
      }));
      assert.equal(got[0]?.ok, true, 'the signature verifies');
      assert.equal(got[0]?.id, got[0]?.body.id);
      assert.equal(got[0]?.body.key, 'hooks/x');
      const shown = await eventually(async () => {
        const res = await api(`/vaults/ears/listeners/${hook.id}`);
        const body = (await res.json()) as Doc;
        return body.delivered === 1 ? body : undefined;
      }, 'the delivery count');
      assert.equal(shown.failed, 0);
      assert.equal(typeof shown.lastDeliveredAt, 'string');
      assert.equal(JSON.stringify(shown).includes('hush'), false);
    } finally {
      await server.close();
    }
  });

  test('deleting a listener stops delivery and takes its node out of the participant entry', async () => {
    // Prepare
    const queueUrl = await newQueue();
    const l = await listen({ path: 'gone/', target: { type: 'sqs', queueUrl } });
    assert.deepEqual(await participantNodes('gone/'), [l.node]);

    // Act
    const res = await api(`/vaults/ears/listeners/${l.id}`, { method: 'DELETE' });
    assert.equal(res.status, 204);
    assert.equal((await put('gone/x', 'x')).status, 201);

    // Assess
    assert.deepEqual(await participantNodes('gone/'), []);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await drain(queueUrl, 0)).length, 0);
    assert.equal((await api(`/vaults/ears/listeners/${l.id}`)).status, 404);
    assert.equal((await api(`/vaults/ears/listeners/${l.id}`, { method: 'DELETE' })).status, 404);
    const list = (await (await api('/vaults/ears/listeners?path=gone/')).json()) as Doc;
    assert.deepEqual(list, { listeners: [] });
  });

  test('bad listener requests are 400s naming the rule, and unknown vaults or listeners 404s', async () => {
    const queueUrl = await newQueue();
    const cases: Array<[unknown, string, RegExp]> = [
      [{ path: 'a/../b', target: { type: 'sqs', queueUrl } }, 'path', /"\.\." path segments/],
      [
        { path: 'a', events: ['object.moved'], target: { type: 'sqs', queueUrl } },
        'events[0]',
        /must be one of/,
      ],
      [{ path: 'a', target: { type: 'carrier-pigeon' } }, 'target.type', /sqs, webhook, lambda/],
      [{ path: 'a', target: { type: 'webhook' } }, 'target.url', /must be a string/],
      [{ path: 'a', target: { type: 'webhook', url: 'ftp://x/y' } }, 'target.url', /http\(s\) URL/],
      [
        { path: 'a', target: { type: 'sqs', queueUrl: 'not a queue' } },
        'target.queueUrl',
        /SQS queue URL/,
      ],
      [{ path: 'a', target: { type: 'lambda' } }, 'target.functionName', /must be a string/],
    ];
    for (const [body, field, rule] of cases) {
      const res = await api('/vaults/ears/listeners', {
        method: 'POST',
        body: JSON.stringify(body),
      });
      const answer = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(answer.error.code, 'InvalidParameter');
      assert.ok(answer.error.message.startsWith(`${field}: `), answer.error.message);
      assert.match(answer.error.message, rule);
    }
    const unknownVault = await api('/vaults/nope/listeners', {
      method: 'POST',
      body: JSON.stringify({ path: '', target: { type: 'sqs', queueUrl } }),
    });
    assert.equal(unknownVault.status, 404);
    assert.equal((await api('/vaults/ears/listeners/lnothere')).status, 404);
  });
  test('a failing webhook gets 5 attempts with growing delays, then the listener counts failed = 1', async () => {
    // Prepare
    const hook = await hookServer(() => 500);
    try {
      const l = await listen({ path: 'down/', target: { type: 'webhook', url: hook.url } });

      // Act
      assert.equal((await put('down/x', 'x')).status, 201);

      // Assess
      const shown = await eventually(
        async () => {
          const body = (await (await api(`/vaults/ears/listeners/${l.id}`)).json()) as Doc;
          return body.failed === 1 ? body : undefined;
        },
        'the failure count',
        30_000,
      );
      assert.equal(hook.calls.length, 5);
      // Each wait at least its delay (200 ms, doubling): a gap is the delay plus the time a
      // call takes, which a stall of this loaded machine can stretch, so gaps are not compared
      // with each other. A millisecond of slack for the clocks' rounding.
      const gaps = hook.calls.slice(1).map((c, i) => c.at - (hook.calls[i]?.at ?? 0));
      gaps.forEach((gap, i) => {
        assert.ok(gap >= 200 * 2 ** i - 1, `delays grow: ${gaps.map(Math.round)}`);
      });
      assert.equal(shown.delivered, 0);
      assert.equal(shown.lastError, 'HTTP 500');
      assert.equal(new Set(hook.calls.map((c) => c.id)).size, 1, 'one event, tried again');
    } finally {
      await hook.close();
    }
  });

  test('a webhook that recovers within its attempts gets the event, counted delivered', async () => {
    const hook = await hookServer((n) => (n <= 2 ? 503 : 200));
    try {
      const l = await listen({ path: 'flaky/', target: { type: 'webhook', url: hook.url } });
      assert.equal((await put('flaky/x', 'x')).status, 201);
      const shown = await eventually(
        async () => {
          const body = (await (await api(`/vaults/ears/listeners/${l.id}`)).json()) as Doc;
          return body.delivered === 1 ? body : undefined;
        },
        'the delivery count',
        30_000,
      );
      assert.equal(shown.failed, 0);
      assert.equal(hook.calls.length, 3);
    } finally {
      await hook.close();
    }
  });

  test('20 concurrent overwrites of one key reach a listener in sequence order, each once', async () => {
    // Prepare
    const hook = await hookServer();
    try {
      await listen({ path: 'race', target: { type: 'webhook', url: hook.url } });

      // Twenty execution environments of the api (and of its authorizer) warm first, as a
      // deployment under traffic has them: twenty cold starts at once on two cores can outlast
      // the API's 30 s before any PUT is tallied, and that is not what this test is about.
      const warm = await Promise.all(Array.from({ length: 20 }, () => api('/health')));
      assert.deepEqual(
        warm.map((r) => r.status),
        warm.map(() => 200),
      );

      // Act
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => put('race', `version ${i}`)),
      );

      // Assess: each write committed (201), or was accepted and commits later (202: its
      // event comes all the same).
      for (const res of answers)
        assert.ok([201, 202].includes(res.status), `${res.status} ${await res.clone().text()}`);
      await eventually(
        async () => (hook.calls.length >= 20 ? true : undefined),
        '20 events',
        60_000,
      );
      const docs = hook.calls.map((c) => JSON.parse(c.raw) as Doc);
      // A committer that reruns a revision's tasks takes a new number, and the node queue drops
      // the duplicate: numbers may skip, never go back.
      const sequences = docs.map((d) => Number(d.sequence));
      for (let i = 1; i < sequences.length; i++)
        assert.ok((sequences[i] ?? 0) > (sequences[i - 1] ?? 0), `in sequence order: ${sequences}`);
      assert.equal(new Set(docs.map((d) => d.revision)).size, 20, 'each revision once');
      const revisions = await Promise.all(
        answers.map(async (r) => ((await r.json()) as Doc).revision),
      );
      assert.deepEqual(new Set(docs.map((d) => d.revision)), new Set(revisions));
    } finally {
      await hook.close();
    }
  });
  test('object.repaired and object.lost reach a listener when a rebuild heals one segment and finds another lost', async () => {
    // Prepare: one slice of `heal/ok` and three of `heal/gone` (n - k + 1) are deleted.
    const queueUrl = await newQueue();
    const l = await listen({
      path: 'heal/',
      events: ['object.lost', 'object.repaired'],
      target: { type: 'sqs', queueUrl },
    });
    for (const key of ['heal/ok', 'heal/gone']) {
      assert.equal((await put(key, `bytes of ${key}`)).status, 201);
      const e = await everySliceStored<Explanation>(api, 'ears', key);
      const doomed = e.segments[0]?.pillars.slice(0, key === 'heal/ok' ? 1 : 3) ?? [];
      for (const p of doomed)
        await s3.send(new DeleteObjectCommand({ Bucket: p.bucket, Key: p.key }));
    }

    // Act
    const started = await api('/vaults/ears/rebuild', {
      method: 'POST',
      body: JSON.stringify({ restart: true }),
    });
    assert.equal(started.status, 202, await started.clone().text());

    // Assess
    const docs = await drain(queueUrl, 2);
    assert.deepEqual(docs.map((d) => `${d.type} ${d.key} ${d.listener} ${d.matched}`).sort(), [
      `object.lost heal/gone ${l.id} heal/`,
      `object.repaired heal/ok ${l.id} heal/`,
    ]);
  });
  test('removing the last listener of one node while events flow loses no event of the other node, and its stale entry goes', async () => {
    // Prepare: two listeners on flow/, on two different nodes.
    const [keepQ, dropQ] = await Promise.all([newQueue(), newQueue()]);
    const keep = await listen({ path: 'flow/', target: { type: 'sqs', queueUrl: keepQ } });
    let drop = await listen({ path: 'flow/', target: { type: 'sqs', queueUrl: dropQ } });
    while (drop.node === keep.node)
      drop = await listen({ path: 'flow/', target: { type: 'sqs', queueUrl: dropQ } });
    assert.ok((await participantNodes('flow/')).includes(drop.node));

    // Act: 12 commits; after the fourth, drop's listeners leave, and the last one's initiator
    // entry goes behind the participant entry's back (a removal that died halfway).
    const writes: Promise<Response>[] = [];
    for (let i = 0; i < 12; i++) {
      writes.push(put(`flow/${i}`, `${i}`));
      if (i === 3) {
        const all = (await (await api('/vaults/ears/listeners?path=flow/')).json()) as {
          listeners: Array<{ id: string; node: number }>;
        };
        for (const l of all.listeners.filter((x) => x.node === drop.node && x.id !== drop.id))
          assert.equal(
            (await api(`/vaults/ears/listeners/${l.id}`, { method: 'DELETE' })).status,
            204,
          );
        await documents.send(
          new UpdateCommand({
            TableName: cloud.ref('ListenersTable'),
            Key: { pk: `initiator#${drop.node}#ears`, sk: '~flow/' },
            UpdateExpression: 'REMOVE #l',
            ExpressionAttributeNames: { '#l': `l_${drop.id}` },
          }),
        );
      }
    }
    for (const res of await Promise.all(writes)) assert.equal(res.status, 201);

    // Assess: every event reached the other node's listener, and the stale entry is gone.
    const kept = await drain(keepQ, 12);
    assert.deepEqual(new Set(kept.map((d) => d.key)).size, 12);
    await eventually(
      async () => ((await participantNodes('flow/')).includes(drop.node) ? undefined : true),
      'the stale node to leave the entry',
    );
    assert.ok((await participantNodes('flow/')).includes(keep.node));
  });
});

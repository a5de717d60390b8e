/**
 * Sessions flagged by scanning (seed 004) on the local cloud, with the project's real handlers:
 * every committed object gets a scan state from the committer's scan task, listings and reads
 * show it, an infected one is announced as `object.quarantined` on the events topic and to
 * listeners that ask for it, and the admin's rules apply to later scans.
 *
 * The tests sign as the root (protected and admin), which reads everything; the unprotected
 * session's refusals are tested here with a key the root creates, and for every session kind
 * and state at unit level (test/unit/access/read-gate.test.ts).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
  type CloudClients,
  cloudClients,
  createVault,
  eventually,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';
import { fetchAs } from '../helpers/signing.ts';

/** The EICAR test file, built from hex so this source is not itself flagged. */
const EICAR = Buffer.from(
  '58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a',
  'hex',
);

type Doc = Record<string, unknown>;

describe('scan states on the local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let sqs: SQSClient;
  let sns: SNSClient;
  let clients: CloudClients;
  let topicInbox: string;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const put = (key: string, body: Uint8Array) =>
    api(`/vaults/scanned/objects/${key}`, { method: 'PUT', body: new Uint8Array(body) });

  /** The listing's entry for `key` once its scan state is no longer pending. */
  const scanned = (key: string) =>
    eventually(
      async () => {
        const res = await api(`/vaults/scanned/objects?prefix=${encodeURIComponent(key)}`);
        const { objects } = (await res.json()) as { objects: Doc[] };
        const entry = objects.find((o) => o.key === key);
        return entry && entry.scanState !== 'pending' ? entry : undefined;
      },
      `the scan of ${key}`,
      30_000,
    );

  const newQueue = async (name: string) => {
    const out = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    return out.QueueUrl as string;
  };
  /** Documents on `queueUrl` until one satisfies `wanted`; everything received so far. */
  const receiveUntil = async (queueUrl: string, wanted: (d: Doc) => boolean): Promise<Doc[]> => {
    const got: Doc[] = [];
    await eventually(
      async () => {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
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
        return got.some(wanted) ? true : undefined;
      },
      `a matching document on ${queueUrl}`,
      30_000,
    );
    return got;
  };

  before(async () => {
    dir = await tempDir('dsn-scan');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    clients = cloudClients(cloud);
    ({ sqs, sns } = clients);
    await createVault(api, { name: 'scanned', writeThreshold: 5, segmentSize: 64 * 1024 });
    // A user's queue on the vault events topic, for quarantines only.
    topicInbox = await newQueue('quarantine-watch');
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: topicInbox, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: cloud.ref('EventsTopic'),
        Protocol: 'sqs',
        Endpoint: Attributes?.QueueArn,
        Attributes: {
          RawMessageDelivery: 'true',
          FilterPolicy: '{"type":["object.quarantined"]}',
        },
      }),
    );
  });

  after(async () => {
    clients?.destroy();
    await cloud?.stop();
    await dir?.remove();
  });

  test('an uploaded EICAR file ends infected, is announced on the events topic and to a listener that asks, and only an admin reads it', async () => {
    // Prepare: a listener for quarantines, and one with the default events.
    const asked = await newQueue('listener-quarantine');
    const defaults = await newQueue('listener-defaults');
    for (const body of [
      { path: 'in/', events: ['object.quarantined'], target: { type: 'sqs', queueUrl: asked } },
      { path: 'in/', target: { type: 'sqs', queueUrl: defaults } },
    ]) {
      const res = await api('/vaults/scanned/listeners', {
        method: 'POST',
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 201, await res.text());
    }

    // Act
    const res = await put('in/eicar.com', EICAR);
    const { revision } = (await res.json()) as { revision: string };
    const entry = await scanned('in/eicar.com');

    // Assess: the state and the signature's name, in the listing.
    assert.equal(res.status, 201);
    assert.equal(entry.scanState, 'infected');
    const onTopic = await receiveUntil(topicInbox, (d) => d.key === 'in/eicar.com');
    const event = onTopic.find((d) => d.key === 'in/eicar.com') as Doc;
    assert.deepEqual(
      [event.type, event.vault, event.revision, event.signature],
      ['object.quarantined', 'scanned', revision, 'Eicar-Test-Signature.body'],
    );
    const heard = await receiveUntil(asked, (d) => d.type === 'object.quarantined');
    assert.deepEqual(
      heard.map((d) => [d.type, d.key, d.revision]),
      [['object.quarantined', 'in/eicar.com', revision]],
    );
    // The default listener hears the commit, and (later than the quarantine) nothing more.
    const plain = await receiveUntil(defaults, (d) => d.type === 'object.committed');
    assert.deepEqual(
      plain.map((d) => d.type),
      ['object.committed'],
    );
    // The local root is an admin: it reads a quarantined object, told its state.
    const got = await api('/vaults/scanned/objects/in/eicar.com');
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('x-dsn-scan-state'), 'infected');
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), EICAR);
    const head = await api('/vaults/scanned/objects/in/eicar.com', { method: 'HEAD' });
    assert.equal(head.headers.get('x-dsn-scan-state'), 'infected');
  });

  test('a clean file ends clean, and reads right after the write still work for the local root', async () => {
    // Prepare
    const body = randomBytes(150_000);

    // Act: read at once, while the scan may still be pending.
    const res = await put('docs/report.bin', body);
    const early = await api('/vaults/scanned/objects/docs/report.bin');
    const earlyBytes = Buffer.from(await early.arrayBuffer());
    const entry = await scanned('docs/report.bin');

    // Assess
    assert.equal(res.status, 201);
    assert.equal(early.status, 200);
    assert.ok(['pending', 'clean'].includes(early.headers.get('x-dsn-scan-state') ?? ''));
    assert.equal(
      createHash('sha256').update(earlyBytes).digest('hex'),
      createHash('sha256').update(body).digest('hex'),
    );
    assert.equal(entry.scanState, 'clean');
    const head = await api('/vaults/scanned/objects/docs/report.bin', { method: 'HEAD' });
    assert.equal(head.headers.get('x-dsn-scan-state'), 'clean');
  });

  test('rules an admin uploads apply to later scans, with unsupported lines skipped and named', async () => {
    // Prepare: a pattern of our own, and two lines the matcher does not support.
    const marker = Buffer.from('DSN-TEST-MARKER-7f3a');
    const before = randomBytes(2000);
    await put('later/before.bin', Buffer.concat([before, marker]));
    assert.equal((await scanned('later/before.bin')).scanState, 'clean');
    const rules = [
      '# our own',
      `Dsn.Test.Marker:0:*:${marker.toString('hex')}`,
      'Dsn.Test.Pe:1:*:4d5a9000',
      'Dsn.Test.Wild:0:*:4d5a??00',
    ].join('\n');

    // Act
    const res = await api('/admin/scan-rules', { method: 'PUT', body: rules });
    const summary = (await res.json()) as { patterns: number; skipped: Doc[] };
    await eventually(
      async () => {
        // The committer reads the rules again after RULES_CACHE_MS: write until a scan has them.
        await put('later/after.bin', Buffer.concat([randomBytes(3000), marker]));
        const entry = await scanned('later/after.bin');
        return entry.scanState === 'infected' ? entry : undefined;
      },
      'a scan with the uploaded rules',
      40_000,
    );

    // Assess: applied to the later scan; the earlier object keeps its state.
    assert.equal(res.status, 200);
    assert.equal(summary.patterns, 1);
    assert.deepEqual(
      summary.skipped.map((s) => s.line),
      [3, 4],
    );
    assert.equal((await scanned('later/before.bin')).scanState, 'clean');
    const shown = (await (await api('/admin/scan-rules')).json()) as { text: string };
    assert.equal(shown.text, rules);
  });

  test('an unprotected session is refused a quarantined object (403 Quarantined) and a pending one (403 NotScanned), and reads it once clean', async () => {
    const session = await unprotectedSession(cloud);
    const infected = await session.fetch('/vaults/scanned/objects/in/eicar.com');
    assert.equal(infected.status, 403);
    assert.equal(((await infected.json()) as { error: Doc }).error.code, 'Quarantined');

    // Another key's upload: pending (refused), then clean (read).
    const body = randomBytes(5000);
    await put('others/file.bin', body);
    const first = await session.fetch('/vaults/scanned/objects/others/file.bin');
    // Refused while pending; the scan may also have finished already, and then it reads clean.
    if (first.status === 403)
      assert.equal(((await first.json()) as { error: Doc }).error.code, 'NotScanned');
    else assert.deepEqual([first.status, first.headers.get('x-dsn-scan-state')], [200, 'clean']);
    assert.equal((await scanned('others/file.bin')).scanState, 'clean');
    const later = await session.fetch('/vaults/scanned/objects/others/file.bin');
    assert.equal(later.status, 200);
    assert.deepEqual(Buffer.from(await later.arrayBuffer()), body);

    // Its own upload it reads at once, scanned or not; its own EICAR upload it may not.
    const mine = randomBytes(3000);
    await session.fetch('/vaults/scanned/objects/mine/file.bin', { method: 'PUT', body: mine });
    const own = await session.fetch('/vaults/scanned/objects/mine/file.bin');
    assert.equal(own.status, 200);
    assert.deepEqual(Buffer.from(await own.arrayBuffer()), mine);
    await session.fetch('/vaults/scanned/objects/mine/eicar.com', { method: 'PUT', body: EICAR });
    assert.equal((await scanned('mine/eicar.com')).scanState, 'infected');
    const ownInfected = await session.fetch('/vaults/scanned/objects/mine/eicar.com');
    assert.equal(ownInfected.status, 403);
    assert.equal(((await ownInfected.json()) as { error: Doc }).error.code, 'Quarantined');
  });

  test("a work item's op reads as the key that added it: an unprotected key's grep of a quarantined object fails Quarantined, the root's reads it", async () => {
    // Prepare
    const session = await unprotectedSession(cloud);
    await put('work-gate/eicar.com', EICAR);
    assert.equal((await scanned('work-gate/eicar.com')).scanState, 'infected');
    const grep = { op: 'grep', args: { prefix: 'work-gate/', pattern: 'EICAR' } };
    const settled = (as: typeof session.fetch, id: string) =>
      eventually(
        async () => {
          const item = (await (await as(`/vaults/scanned/work/${id}`)).json()) as Doc;
          return item.state === 'done' || item.state === 'failed' ? item : undefined;
        },
        `work item ${id} to end`,
        60_000,
      );

    // Act
    const theirs = (await (
      await session.fetch('/vaults/scanned/work', { method: 'POST', body: JSON.stringify(grep) })
    ).json()) as Doc;
    const root = (await (
      await api('/vaults/scanned/work', { method: 'POST', body: JSON.stringify(grep) })
    ).json()) as Doc;
    const theirsEnded = await settled(session.fetch, theirs.id as string);
    const rootEnded = await settled(api, root.id as string);

    // Assess
    assert.equal(theirsEnded.state, 'failed');
    assert.match(String(theirsEnded.error), /quarantined/i);
    assert.equal(rootEnded.state, 'done', JSON.stringify(rootEnded));
    assert.match(JSON.stringify(rootEnded.result), /EICAR-STANDARD-ANTIVIRUS-TEST-FILE/);
  });

  test('a quarantined object above the payload limit: the session gets 403 on GET, HEAD and If-None-Match, never a 307 to the reader', async () => {
    // Prepare: 5 MiB opening with the EICAR string, written through a staged upload as the root.
    const body = Buffer.concat([EICAR, randomBytes(5 * 1024 * 1024)]);
    const created = await api('/vaults/scanned/uploads', {
      method: 'POST',
      body: JSON.stringify({ key: 'big/eicar.bin' }),
    });
    const { uploadId } = (await created.json()) as { uploadId: string };
    const half = 4 * 1024 * 1024;
    for (const [part, bytes] of [body.subarray(0, half), body.subarray(half)].entries()) {
      const res = await api(`/vaults/scanned/uploads/${uploadId}/parts/${part + 1}`, {
        method: 'PUT',
        body: new Uint8Array(bytes),
      });
      assert.equal(res.status, 200, await res.text());
    }
    await api(`/vaults/scanned/uploads/${uploadId}/complete`, { method: 'POST' });
    assert.equal((await scanned('big/eicar.bin')).scanState, 'infected');
    const session = await unprotectedSession(cloud);
    const etag = `"${createHash('sha256').update(body).digest('hex')}"`;

    // Act
    const get = await session.fetch('/vaults/scanned/objects/big/eicar.bin', {
      redirect: 'manual',
    });
    const head = await session.fetch('/vaults/scanned/objects/big/eicar.bin', { method: 'HEAD' });
    const conditional = await session.fetch('/vaults/scanned/objects/big/eicar.bin', {
      redirect: 'manual',
      headers: { 'if-none-match': etag },
    });
    const root = await api('/vaults/scanned/objects/big/eicar.bin', { redirect: 'manual' });

    // Assess
    for (const res of [get, conditional]) {
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('location'), null);
      assert.equal(((await res.json()) as { error: Doc }).error.code, 'Quarantined');
    }
    assert.equal(head.status, 403);
    // The root (an admin) reads it: the 307 and its grant come only after the gate.
    assert.equal(root.status, 307);
    assert.match(root.headers.get('location') ?? '', /[?&]grant=/);
  });
});

/** A fetch signed as a new unprotected key (read, write, list on every vault), made by the root. */
async function unprotectedSession(
  cloud: LocalCloud,
): Promise<{ fetch: (path: string, init?: RequestInit) => Promise<Response> }> {
  const res = await fetch(`${cloud.endpoints.api}/admin/keys`, {
    method: 'POST',
    body: JSON.stringify({
      policy: [{ vaults: ['*'], actions: ['read', 'write', 'list'] }],
      protected: false,
    }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const key = (await res.json()) as { accessKeyId: string; secretAccessKey: string };
  const signed = fetchAs(key);
  return { fetch: (path, init) => signed(`${cloud.endpoints.api}${path}`, init) };
}

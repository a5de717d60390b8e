/**
 * Integrity and repair on the local cloud, with the real handlers: units taken down through the
 * fault-injection route, bytes flipped on the units' disks by the chaos route, slices deleted
 * from buckets; then explain and the rebuilder (a queue-driven chain of resumable steps). The
 * `repair` stage has a 2 s janitor timeout, so orphans age within a test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { formatSliceName } from '../../shared/codec/slice-name.ts';
import { newRevisionId, objectIdOf } from '../../shared/store/revision.ts';
import {
  createVault,
  eventually,
  everySliceStored,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';

const SEGMENT = 64 * 1024;

interface Job {
  id: string;
  state: string;
  phase: string;
  invocations: number;
  totalSegments: number;
  segmentsScanned: number;
  segmentsRepaired: number;
  segmentsLost: number;
  slicesRepaired: number;
  orphansDeleted: number;
  queueRecords: number;
  bytesMoved: number;
  lost: Array<{ key: string; segment: number; good: number }>;
}

interface Explanation {
  verdict: string;
  minGood: number;
  segments: Array<{
    segment: number;
    good: number;
    pillars: Array<{ unit: number; key: string; bucket: string; defect?: string }>;
  }>;
}

describe('rebuilder, explain and orphans in 4-of-6 vaults', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let s3: S3Client;
  let sqs: SQSClient;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const put = (vault: string, key: string, body: Uint8Array) =>
    api(`/vaults/${vault}/objects/${key}`, { method: 'PUT', body: new Uint8Array(body) });
  const get = async (vault: string, key: string) =>
    Buffer.from(await (await api(`/vaults/${vault}/objects/${key}`)).arrayBuffer());
  const fault = async (unit: number, mode: string) =>
    assert.equal(
      (await api(`/admin/units/${unit}/fault`, { method: 'PUT', body: JSON.stringify({ mode }) }))
        .status,
      200,
    );
  const heal = (unit: number) => api(`/admin/units/${unit}/fault`, { method: 'DELETE' });
  const explain = async (vault: string, key: string) => {
    const res = await api(`/vaults/${vault}/objects/${key}?explain`);
    assert.equal(res.status, 200);
    return (await res.json()) as Explanation;
  };
  /** Tests that count or delete slices first wait until all six units hold theirs. */
  const stored = (vault: string, key: string) => everySliceStored<Explanation>(api, vault, key);
  const bucket = (unit: number) => cloud.ref(`Unit${unit}Bucket`);
  /** PUT requests the unit buckets have seen, from the local cloud's request counters. */
  const slicePuts = async () => {
    const res = await api('/admin/requests');
    assert.equal(res.status, 200);
    const { units } = (await res.json()) as { units: Array<{ put: number }> };
    return units.reduce((sum, u) => sum + u.put, 0);
  };

  /** Starts a rebuild and waits for the chain of steps to finish it. */
  async function rebuild(
    vault: string,
    options: Record<string, unknown> = {},
    duplicates = 0,
  ): Promise<Job> {
    const started = await api(`/vaults/${vault}/rebuild`, {
      method: 'POST',
      body: JSON.stringify({ restart: true, ...options }),
    });
    assert.equal(started.status, 202, await started.clone().text());
    const { id } = (await started.json()) as Job;
    // SQS delivers at least once: extra copies of the step message must change nothing.
    for (let i = 0; i < duplicates; i++) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: cloud.ref('RebuildQueue'),
          MessageBody: JSON.stringify({ vault, id }),
        }),
      );
    }
    return eventually(
      async () => {
        const job = (await (await api(`/vaults/${vault}/rebuild`)).json()) as Job;
        assert.equal(job.id, id);
        return job.state === 'done' ? job : undefined;
      },
      `rebuild of ${vault}`,
      60_000,
    );
  }

  async function keysOn(unit: number, prefix: string): Promise<string[]> {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket(unit), Prefix: prefix, MaxKeys: 1000 }),
    );
    return (out.Contents ?? []).map((o) => o.Key as string);
  }

  before(async () => {
    dir = await tempDir('dsn-repair');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'repair');
    const aws = {
      region: cloud.service.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    s3 = new S3Client({ ...aws, endpoint: cloud.endpoints.s3, forcePathStyle: true });
    sqs = new SQSClient({ ...aws, endpoint: cloud.endpoints.sqs });
    for (const [name, writeThreshold] of [
      ['heal', 4],
      ['rot', 5],
      ['lose', 5],
      ['resume', 5],
    ] as const) {
      await createVault(api, { name, writeThreshold, segmentSize: SEGMENT });
    }
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('objects written while 2 units were down are healthy everywhere after a rebuild', async () => {
    // Prepare: T = 4, so writes commit with two of six units refusing.
    const bodies = new Map<string, Buffer>();
    await fault(1, 'write-fail');
    await fault(4, 'write-fail');
    try {
      for (let i = 0; i < 20; i++) {
        const body = randomBytes(i === 0 ? 0 : (i * 9973) % (3 * SEGMENT));
        const res = await put('heal', `down/${i}`, body);
        assert.equal(res.status, 201, await res.text());
        bodies.set(`down/${i}`, body);
      }
      // A unit still retrying a refused write when it comes back would store the slice late:
      // the units come back only once their queues hold nothing, in flight or waiting.
      await eventually(async () => {
        for (const unit of [1, 4]) {
          const { Attributes: a } = await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: cloud.ref(`Unit${unit}Queue`),
              AttributeNames: [
                'ApproximateNumberOfMessages',
                'ApproximateNumberOfMessagesNotVisible',
              ],
            }),
          );
          if (
            a?.ApproximateNumberOfMessages !== '0' ||
            a?.ApproximateNumberOfMessagesNotVisible !== '0'
          )
            return undefined;
        }
        return true;
      }, 'units 1 and 4 done with their messages');
    } finally {
      await heal(1);
      await heal(4);
    }
    const before = await explain('heal', 'down/7');
    assert.equal(before.verdict, 'degraded');
    assert.deepEqual(
      before.segments[0]?.pillars.filter((p) => p.defect).map((p) => [p.unit, p.defect]),
      [
        [1, 'missing'],
        [4, 'missing'],
      ],
    );

    // Act
    const job = await rebuild('heal');

    // Assess
    const segments = [...bodies.values()].reduce(
      (sum, b) => sum + Math.max(1, Math.ceil(b.length / SEGMENT)),
      0,
    );
    assert.equal(job.totalSegments, segments);
    assert.equal(job.segmentsScanned, segments);
    assert.equal(job.segmentsRepaired, segments);
    assert.equal(job.slicesRepaired, 2 * segments);
    assert.equal(job.segmentsLost, 0);
    for (const [key, body] of bodies) {
      const e = await explain('heal', key);
      assert.equal(e.verdict, 'healthy', `${key}: ${JSON.stringify(e.segments)}`);
      assert.deepEqual(await get('heal', key), body);
    }
    // A second rebuild finds nothing to do.
    const again = await rebuild('heal');
    assert.equal(again.slicesRepaired, 0);
    assert.equal(again.segmentsScanned, segments);
  });

  test('bytes flipped in 10 slices: reads stay exact, the damage is queued, a rebuild repairs all 10', async () => {
    // Prepare
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 8; i++) {
      const body = randomBytes(2 * SEGMENT + 100 * i + 1);
      assert.equal((await put('rot', `r/${i}`, body)).status, 201);
      await stored('rot', `r/${i}`);
      bodies.set(`r/${i}`, body);
    }
    const chaos = await api('/admin/chaos', {
      method: 'POST',
      body: JSON.stringify({ slices: 10, vault: 'rot', seed: 7 }),
    });
    assert.equal(chaos.status, 200, await chaos.clone().text());
    const { flipped } = (await chaos.json()) as { flipped: Array<{ unit: number; key: string }> };
    assert.equal(flipped.length, 10);

    // Act: every object is read, then the rebuild runs.
    for (const [key, body] of bodies) assert.deepEqual(await get('rot', key), body, key);
    const queued = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: cloud.ref('RepairQueue'),
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    const job = await rebuild('rot');

    // Assess: reads meet the flipped slices they fetch (data pillars first), and report them.
    assert.ok(Number(queued.Attributes?.ApproximateNumberOfMessages) > 0, 'damage was queued');
    assert.ok(job.queueRecords > 0);
    assert.equal(job.slicesRepaired, 10);
    assert.equal(job.segmentsLost, 0);
    for (const [key, body] of bodies) {
      assert.equal((await explain('rot', key)).verdict, 'healthy', key);
      assert.deepEqual(await get('rot', key), body);
    }
  });

  test('a segment with n - k + 1 slices deleted is reported lost by key, and nothing else is touched', async () => {
    // Prepare
    const body = randomBytes(3 * SEGMENT);
    const other = randomBytes(SEGMENT + 5);
    assert.equal((await put('lose', 'gone/victim', body)).status, 201);
    assert.equal((await put('lose', 'fine/other', other)).status, 201);
    const victim = await stored('lose', 'gone/victim');
    await stored('lose', 'fine/other');
    for (const p of victim.segments[1]?.pillars.slice(0, 3) ?? []) {
      await s3.send(new DeleteObjectCommand({ Bucket: p.bucket, Key: p.key }));
    }
    const putsBefore = await slicePuts();
    // A user's queue on the vault events topic.
    const sns = new SNSClient({
      region: cloud.service.region,
      endpoint: cloud.endpoints.sns,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const { QueueUrl: inbox } = await sqs.send(new CreateQueueCommand({ QueueName: 'lost-watch' }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: inbox, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: cloud.ref('EventsTopic'),
        Protocol: 'sqs',
        Endpoint: Attributes?.QueueArn,
        Attributes: { RawMessageDelivery: 'true', FilterPolicy: '{"type":["object.lost"]}' },
      }),
    );

    // Act
    const explained = await explain('lose', 'gone/victim');
    const job = await rebuild('lose');

    // Assess
    assert.equal(explained.verdict, 'lost');
    assert.equal(explained.segments[1]?.good, 3);
    assert.equal(explained.segments[0]?.good, 6);
    assert.equal(job.segmentsLost, 1);
    assert.deepEqual(
      job.lost.map((l) => [l.key, l.segment, l.good]),
      [['gone/victim', 1, 3]],
    );
    assert.equal(job.slicesRepaired, 0);
    assert.equal(await slicePuts(), putsBefore, 'no slice was written');
    assert.equal((await explain('lose', 'fine/other')).verdict, 'healthy');
    assert.deepEqual(await get('lose', 'fine/other'), other);
    const read = await api('/vaults/lose/objects/gone/victim');
    assert.equal(read.status, 503);
    const announced = await eventually(async () => {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: inbox, WaitTimeSeconds: 1 }),
      );
      return out.Messages?.map((m) => JSON.parse(m.Body ?? '{}') as { type: string; key: string });
    }, 'an object.lost event');
    assert.deepEqual(
      announced.map((e) => [e.type, e.key]),
      [['object.lost', 'gone/victim']],
    );
  });

  test('a rebuild cut into steps, its step messages duplicated, resumes where it stopped and writes each missing slice once', async () => {
    // Prepare: unit 2 loses every slice of this vault.
    for (let i = 0; i < 6; i++) {
      assert.equal((await put('resume', `s/${i}`, randomBytes(2 * SEGMENT + 1 + i))).status, 201);
      await stored('resume', `s/${i}`);
    }
    const wiped = await keysOn(2, 'resume/');
    assert.equal(wiped.length, 6 * 3);
    for (const key of wiped)
      await s3.send(new DeleteObjectCommand({ Bucket: bucket(2), Key: key }));
    const putsBefore = await slicePuts();

    // Act: at most 4 segments per invocation, as a Lambda time limit would cut it; the step
    // message is delivered three more times.
    const job = await rebuild('resume', { stepSegments: 4 }, 3);

    // Assess
    assert.ok(job.invocations >= 5, `${job.invocations} invocations`);
    assert.equal(job.segmentsScanned, 18, 'no segment scanned twice');
    assert.equal(job.slicesRepaired, 18);
    assert.equal((await slicePuts()) - putsBefore, 18, 'each missing slice written exactly once');
    assert.deepEqual((await keysOn(2, 'resume/')).sort(), wiped.sort());
  });

  test('orphan slices are removed once older than the janitor timeout; committed slices never are', async () => {
    // Prepare: slices of revisions the ledger does not know, as late unit messages leave them
    // after the janitor purged their revision: one old, one just written.
    const body = randomBytes(SEGMENT * 2);
    assert.equal((await put('heal', 'kept/object', body)).status, 201);
    const objectId = objectIdOf('heal', 'orphaned/key');
    const old = newRevisionId(Date.now() - 60_000);
    const young = newRevisionId(Date.now() + 3_600_000);
    const orphan = (revision: string, pillar: number) =>
      formatSliceName({ vault: 'heal', objectId, revision, segment: 0, pillar });
    for (const unit of [0, 3, 5]) {
      await s3.send(
        new PutObjectCommand({ Bucket: bucket(unit), Key: orphan(old, unit), Body: 'stale' }),
      );
      await s3.send(
        new PutObjectCommand({ Bucket: bucket(unit), Key: orphan(young, unit), Body: 'young' }),
      );
    }
    const committed = (await Promise.all([0, 1, 2, 3, 4, 5].map((u) => keysOn(u, 'heal/'))))
      .flat()
      .filter((k) => !k.includes(old) && !k.includes(young));

    // Act: rebuilds until the slices of `old` are past the 2 s timeout since their last write.
    // `young`'s revision is stamped an hour ahead (a writer whose clock runs fast), so it stays.
    let deleted = 0;
    await eventually(
      async () => {
        deleted += (await rebuild('heal')).orphansDeleted;
        return deleted >= 3 ? true : undefined;
      },
      'old orphans removed',
      30_000,
    );

    // Assess
    assert.equal(deleted, 3);
    for (const unit of [0, 3, 5]) {
      const keys = await keysOn(unit, `heal/${objectId}/`);
      assert.deepEqual(keys, [orphan(young, unit)], `unit ${unit}`);
    }
    const left = (await Promise.all([0, 1, 2, 3, 4, 5].map((u) => keysOn(u, 'heal/')))).flat();
    for (const key of committed) assert.ok(left.includes(key), `committed slice ${key} kept`);
    assert.deepEqual(await get('heal', 'kept/object'), body);
  });

  test('explain answers a page of segments with a cursor; rebuild and explain refuse bad input with the field and the rule', async () => {
    const cases: Array<[string, RequestInit, number, RegExp]> = [
      [
        '/vaults/heal/rebuild',
        { method: 'POST', body: '{"stepSegments":-1}' },
        400,
        /^stepSegments: must be an integer/,
      ],
      [
        '/vaults/heal/rebuild',
        { method: 'POST', body: '{"fast":true}' },
        400,
        /^fast: is not a rebuild option/,
      ],
      ['/vaults/heal/rebuild', { method: 'POST', body: '[' }, 400, /^body: must be valid JSON/],
      ['/vaults/nosuch/rebuild', { method: 'POST' }, 404, /nosuch/],
      ['/vaults/heal/objects/absent?explain', {}, 404, /absent/],
      [
        '/vaults/heal/objects/paged?explain&limit=257',
        {},
        400,
        /^limit: must be an integer 1\.\.256, in plain decimal digits/,
      ],
      [
        '/vaults/heal/objects/paged?explain&limit=1e2',
        {},
        400,
        /^limit: must be an integer 1\.\.256, in plain decimal digits/,
      ],
      [
        '/vaults/heal/objects/paged?explain&cursor=-1',
        {},
        400,
        /^cursor: must be an integer 0\.\./,
      ],
      ['/vaults/heal/objects/paged?explain&cursor=20', {}, 400, /^cursor: must be a segment/],
      ['/vaults/heal/objects/paged?explain&page=2', {}, 400, /^page: is not an explain/],
    ];
    // 20 segments of 64 KiB, explained 8 at a time, then the rest at the default page size.
    assert.equal((await put('heal', 'paged', randomBytes(20 * SEGMENT - 5))).status, 201);
    type Page = {
      segmentCount: number;
      cursor: number | null;
      segments: Array<{ segment: number }>;
    };
    const page = async (query: string) =>
      (await (await api(`/vaults/heal/objects/paged?explain${query}`)).json()) as Page;
    const first = await page('&limit=8');
    const second = await page(`&cursor=${first.cursor}&limit=8`);
    const last = await page(`&cursor=${second.cursor}`);
    assert.equal(first.segmentCount, 20);
    assert.deepEqual(
      [first, second, last].map((p) => [p.segments[0]?.segment, p.segments.length, p.cursor]),
      [
        [0, 8, 8],
        [8, 8, 16],
        [16, 4, null],
      ],
    );
    for (const [path, init, status, message] of cases) {
      const res = await api(path, init);
      const body = (await res.json()) as { error: { message: string } };
      assert.equal(res.status, status, path);
      assert.match(body.error.message, message, path);
    }
  });
});

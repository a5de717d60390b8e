/**
 * A unit that missed a topology vote, on the local cloud with the real handlers: its function
 * was held back (`cloud.invoker.slow`, as an overloaded host would be) while the other units
 * voted the vault onto a new topology. It learns nothing from the vote, yet once the new
 * topology is current and the grace has passed, it refuses a write made under the old topology
 * id, because it reads the vault's current topology afresh for every batch (shared/store/unit.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DsnClient } from '../../bin/client.ts';
import { putObject } from '../../bin/put.ts';
import type { SlicePut } from '../../client/uplink.ts';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { DynamoLedger } from '../../shared/aws/store/ledger.ts';
import { SnsMulticast } from '../../shared/aws/store/multicast.ts';
import { DynamoObjectIndex } from '../../shared/aws/store/object-index.ts';
import { S3SliceStore } from '../../shared/aws/store/slice-store.ts';
import { DynamoVaultStore } from '../../shared/aws/store/vault-store.ts';
import { type Clock, systemClock } from '../../shared/clock.ts';
import { parseSliceName } from '../../shared/codec/index.ts';
import { ADDRESS_ATTRIBUTE, parseStatusMessage } from '../../shared/store/multicast.ts';
import type { UnitStatus } from '../../shared/store/revision.ts';
import { isSuperseded } from '../../shared/store/superseded-write.ts';
import { SUPERSEDED_GRACE_MS } from '../../shared/store/unit.ts';
import type { Vault } from '../../shared/store/vault.ts';
import { writeObject } from '../../shared/store/writer.ts';
import {
  type CloudClients,
  cloudClients,
  createVault,
  eventually,
  PROJECT_ROOT,
  startTestCloud,
  TEST_ROOT,
  tempDir,
} from '../helpers/local-cloud.ts';

interface View {
  current: string;
  topologies: Array<{ id: string; parent: string | null; votes: number[]; state: string }>;
}

const VAULT = 'missed';
/** The unit that misses the vote, and stays in the vault. */
const LATE = 1;
/**
 * How late the late unit's function starts each invocation: far longer than the other five
 * units take to vote (under 200 ms on a loaded two-core machine), so the vote is decided before
 * it sees the proposal.
 */
const LATE_BY_MS = 10_000;

let dir: Awaited<ReturnType<typeof tempDir>>;
let cloud: LocalCloud;
let s3: S3Client;
let sns: SNSClient;
let sqs: SQSClient;
let documents: DynamoDBDocumentClient;
let clients: CloudClients;
/** What the first test left: the vault before its switch, the switch's time, both topologies. */
let switchedVault: { stale: Vault; since: number; genesis: string; proposal: string } | undefined;
const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
const view = async () => {
  const res = await api(`/vaults/${VAULT}/topology`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as View;
};
/** Slice keys of the vault's revision `revision` in unit `unit`'s bucket. */
const slicesOn = async (unit: number, revision: string) =>
  (
    (
      await s3.send(
        new ListObjectsV2Command({ Bucket: cloud.ref(`Unit${unit}Bucket`), Prefix: `${VAULT}/` }),
      )
    ).Contents?.map((o) => o.Key as string) ?? []
  ).filter((key) => key.includes(`/${revision}/`));
/** A PUT through the API that must commit: 201, or 202 and then its revision committed. */
const putExact = async (key: string, body: Uint8Array): Promise<string> => {
  const res = await api(`/vaults/${VAULT}/objects/${key}`, {
    method: 'PUT',
    body: new Uint8Array(body),
  });
  const text = await res.text();
  assert.ok([201, 202].includes(res.status), `${key}: ${res.status} ${text}`);
  const { revision, poll } = JSON.parse(text) as { revision: string; poll?: string };
  if (poll)
    await eventually(
      async () => {
        const r = (await (await api(poll)).json()) as { state: string };
        assert.ok(['pending', 'committed', 'garbage'].includes(r.state), `${key}: ${r.state}`);
        return r.state === 'pending' ? undefined : true;
      },
      `the commit of ${key}`,
      60_000,
    );
  return revision;
};

/**
 * A queue of the test's on the status topic, for the vault's statuses only: it hears what each
 * unit tells the committer (SNS fans each status message out to both).
 */
const tapStatuses = async (): Promise<() => Promise<UnitStatus[]>> => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'missed-vote-tap' }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  await sns.send(
    new SubscribeCommand({
      TopicArn: cloud.functionEnvironment('api').DSN_STATUS_TOPIC_ARN,
      Protocol: 'sqs',
      Endpoint: Attributes?.QueueArn,
      Attributes: {
        RawMessageDelivery: 'true',
        FilterPolicy: JSON.stringify({ [ADDRESS_ATTRIBUTE]: [`vault/${VAULT}`] }),
      },
    }),
  );
  const heard: UnitStatus[] = [];
  return async () => {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const m of out.Messages ?? []) {
      // Nudges from writers share the topic; only status messages are kept.
      if (!(m.Body ?? '').includes('"statuses"')) continue;
      heard.push(...parseStatusMessage(m.Body ?? ''));
    }
    return heard;
  };
};

/**
 * A writer whose vault cache still holds `stale` (the vault before the switch): the real
 * writer, ledger and multicast, writing under the topology id and units `stale` names.
 */
const staleWriter = (stale: Vault, clock: Clock = systemClock) => {
  const env = cloud.functionEnvironment('api');
  return {
    vaults: {
      get: async () => stale,
      list: async () => [stale],
      create: async () => {
        throw new Error('the stale writer creates no vault');
      },
    },
    ledger: new DynamoLedger(documents, cloud.ref('RevisionsTable')),
    index: new DynamoObjectIndex(documents, cloud.ref('ObjectsTable')),
    clock,
    slices: new S3SliceStore(s3, (env.DSN_UNIT_BUCKETS ?? '').split(',')),
    multicast: new SnsMulticast(
      sns,
      env.DSN_NETWORK_TOPIC_ARN as string,
      env.DSN_STATUS_TOPIC_ARN as string,
    ),
    pendingTimeoutMs: 60_000,
  };
};

before(async () => {
  dir = await tempDir('dsn-topology-vote');
  cloud = await startTestCloud(PROJECT_ROOT, dir.path);
  clients = cloudClients(cloud);
  ({ s3, sns, sqs, documents } = clients);
});

after(async () => {
  cloud?.invoker.slow(`unit${LATE}`, undefined);
  clients?.destroy();
  await cloud?.stop();
  await dir?.remove();
});

test('a unit that missed the vote refuses a write under the old topology id once the new one is current; writes under the new one commit, its slice included', async () => {
  // Prepare: a 4-of-6 vault (T = 5) with an object, its genesis topology, and what a writer
  // caching the vault would hold; the tap on the status topic; unit 1's function held back.
  await createVault(api, { name: VAULT, writeThreshold: 5, segmentSize: 64 * 1024 });
  await putExact('before', randomBytes(40 * 1024));
  const genesis = (await view()).current;
  const vaults = new DynamoVaultStore(documents, cloud.ref('VaultsTable'));
  const stale = await vaults.get(VAULT);
  assert.equal(stale.topology, genesis);
  assert.deepEqual(stale.units, [0, 1, 2, 3, 4, 5]);
  const statuses = await tapStatuses();
  cloud.invoker.slow(`unit${LATE}`, LATE_BY_MS);

  // Act: replace unit 3 (not the late one); the other five units' votes reach T.
  const res = await api(`/vaults/${VAULT}/topology`, {
    method: 'POST',
    body: JSON.stringify({ replace: { unit: 3, with: 7 } }),
  });
  assert.equal(res.status, 202, await res.clone().text());
  const { proposal } = (await res.json()) as { proposal: string };
  // The vault points at the proposal first; the two records are settled just after.
  const switched = await eventually(async () => {
    const v = await view();
    const state = (id: string) => v.topologies.find((t) => t.id === id)?.state;
    return v.current === proposal && state(proposal) === 'current' && state(genesis) !== 'current'
      ? v
      : undefined;
  }, 'the proposal to become current');
  cloud.invoker.slow(`unit${LATE}`, undefined);

  // Assess: it became current without unit 1's vote.
  const votes = switched.topologies.find((t) => t.id === proposal)?.votes ?? [];
  assert.ok(!votes.includes(LATE), `unit ${LATE} did not vote (votes ${votes})`);
  assert.deepEqual(
    [...votes].sort((a, b) => a - b),
    [0, 2, 3, 4, 5],
  );
  assert.equal(switched.topologies.find((t) => t.id === genesis)?.state, 'superseded');
  const now = await vaults.get(VAULT);
  assert.equal(now.topology, proposal);
  assert.ok(now.units.includes(LATE), `unit ${LATE} stays in the vault (${now.units})`);
  const since = now.topologySince as number;
  assert.equal(typeof since, 'number');
  switchedVault = { stale, since, genesis, proposal };

  // Act: past the grace, a writer still holding the old vault writes under the genesis id.
  const graceEnds = since + SUPERSEDED_GRACE_MS + 100;
  while (Date.now() <= graceEnds) await new Promise((r) => setTimeout(r, graceEnds - Date.now()));
  const body = randomBytes(20 * 1024);
  const outcome = await writeObject(
    staleWriter(stale),
    VAULT,
    'under-old-topology',
    (async function* () {
      yield body;
    })(),
    { waitMs: 20_000 },
  );

  // Assess: the units refused it, unit 1 with a status naming the superseded topology, and it
  // stored nothing of it.
  assert.equal(outcome.state, 'failed', JSON.stringify(outcome));
  const refusal = await eventually(async () => {
    const heard = await statuses();
    return heard.find((s) => s.revision === outcome.revision && s.unit === LATE);
  }, `unit ${LATE}'s status for the old-topology write`);
  assert.equal(refusal.ok, false, JSON.stringify(refusal));
  assert.equal(refusal.pillar, 1);
  assert.match(refusal.reason ?? '', new RegExp(`written under topology ${genesis}`));
  assert.match(refusal.reason ?? '', new RegExp(`superseded by ${proposal}`));
  assert.deepEqual(await slicesOn(LATE, outcome.revision), [], 'no slice of it on unit 1');

  // Act: a write through the API, under the new topology.
  const fresh = randomBytes(20 * 1024);
  const revision = await putExact('under-new-topology', fresh);

  // Assess: it commits and reads back, and unit 1 stores its slice of it.
  const read = await api(`/vaults/${VAULT}/objects/under-new-topology`);
  assert.equal(read.status, 200);
  assert.ok(Buffer.from(await read.arrayBuffer()).equals(fresh), 'reads back exact');
  await eventually(
    async () => ((await slicesOn(LATE, revision)).length === 1 ? true : undefined),
    `unit ${LATE}'s slice of the write under the new topology`,
  );

  // Assess: once unit 1's held-back invocation has run, the proposal it got late was settled
  // without its vote (its queue is empty: the message was handled, not left to come again).
  await eventually(
    async () => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: cloud.ref(`Unit${LATE}Queue`),
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const left =
        Number(Attributes?.ApproximateNumberOfMessages) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
      return left === 0 ? true : undefined;
    },
    `unit ${LATE}'s queue to be empty`,
    LATE_BY_MS + 20_000,
  );
  const settled = (await view()).topologies.find((t) => t.id === proposal);
  assert.equal(settled?.state, 'current');
  assert.deepEqual(
    [...(settled?.votes ?? [])].sort((a, b) => a - b),
    [0, 2, 3, 4, 5],
  );
});

test('a write begun under the old topology before the switch, whose commit comes past the grace, is failed by the committer (the commit fence): nothing of it becomes visible', async () => {
  // Prepare: the first test's switch, its grace over. A writer holding the vault as it was,
  // whose revision began a second before the switch (its clock set back): the units take it,
  // as a write begun then and still dispersing would be taken.
  assert.ok(switchedVault, 'the first test switched the vault');
  const { stale, since, genesis, proposal } = switchedVault;
  assert.ok(Date.now() > since + SUPERSEDED_GRACE_MS, 'past the grace');
  const behind = Date.now() - (since - 1000);
  const before: Clock = {
    now: () => Date.now() - behind,
    date: () => new Date(Date.now() - behind),
    sleep: (ms) => systemClock.sleep(ms),
  };
  const body = randomBytes(20 * 1024);

  // Act
  const outcome = await writeObject(
    staleWriter(stale, before),
    VAULT,
    'begun-before-the-switch',
    (async function* () {
      yield body;
    })(),
    { waitMs: 20_000 },
  );

  // Assess: the units took it (a refusal would fail it as a segment that cannot reach T), and
  // the committer failed it, naming both topologies; the key was never written.
  assert.equal(outcome.state, 'failed', JSON.stringify(outcome));
  const record = await new DynamoLedger(documents, cloud.ref('RevisionsTable')).get(
    outcome.revision,
  );
  assert.equal(record?.state, 'failed');
  assert.equal(record?.topology, genesis);
  assert.ok(isSuperseded(record?.reason), record?.reason);
  assert.match(record?.reason ?? '', new RegExp(`moved to ${proposal}`));
  const read = await api(`/vaults/${VAULT}/objects/begun-before-the-switch`);
  assert.equal(read.status, 404, await read.text());
});

test('dsn put of a file whose vault moved to another topology while it was dispersed puts it again under the new one, where it commits', async () => {
  // Prepare: a vault on its genesis topology, a file of 16 segments, and slice PUTs whose
  // first one waits for a topology change of the vault to be past its grace.
  await createVault(api, { name: 'moving', writeThreshold: 5, segmentSize: 64 * 1024 });
  const genesis = ((await (await api('/vaults/moving/topology')).json()) as View).current;
  const body = randomBytes(1024 * 1024);
  const file = join(dir.path, 'moving.bin');
  await writeFile(file, body);
  const client = new DsnClient(cloud.endpoints.api, undefined, {
    credentials: TEST_ROOT,
    region: 'us-east-1',
  });
  const vaults = new DynamoVaultStore(documents, cloud.ref('VaultsTable'));
  /** The first slice URL's key: the first dispersal's revision is in it. */
  let firstKey: string | undefined;
  const moveVault = async () => {
    const res = await api('/vaults/moving/topology', {
      method: 'POST',
      body: JSON.stringify({ replace: { unit: 3, with: 6 } }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { proposal } = (await res.json()) as { proposal: string };
    const since = await eventually(async () => {
      const v = await vaults.get('moving');
      return v.topology === proposal ? v.topologySince : undefined;
    }, 'the vault to move');
    const graceEnds = (since as number) + SUPERSEDED_GRACE_MS + 100;
    while (Date.now() <= graceEnds) await new Promise((r) => setTimeout(r, graceEnds - Date.now()));
  };
  let moved: Promise<void> | undefined;
  const putSlice: SlicePut = async (url, slice, headers, signal) => {
    // Path-style: /<bucket>/<slice name>.
    firstKey ??= decodeURIComponent(new URL(url).pathname).split('/').slice(2).join('/');
    moved ??= moveVault();
    await moved;
    return fetch(url, {
      method: 'PUT',
      headers,
      body: new Uint8Array(slice),
      ...(signal ? { signal } : {}),
    });
  };
  const quiet = () => ({ update() {}, setTotal() {}, stop() {} });

  // Act
  const put = await putObject(client, file, 'moving', 'moved.bin', quiet, 'uplink', {
    putSlice,
  });

  // Assess: its first dispersal (under genesis) failed by the fence; the second committed on
  // the new units, and reads back exact.
  const first = await new DynamoLedger(documents, cloud.ref('RevisionsTable')).get(
    parseSliceName(firstKey as string).revision,
  );
  assert.equal(first?.topology, genesis, 'the first dispersal was opened under genesis');
  assert.ok(isSuperseded(first?.reason), first?.reason);
  assert.notEqual(put.revision, first?.revision);
  const read = await api('/vaults/moving/objects/moved.bin');
  assert.equal(read.status, 200);
  assert.ok(Buffer.from(await read.arrayBuffer()).equals(body), 'reads back exact');
  const explained = (await (await api('/vaults/moving/objects/moved.bin?explain')).json()) as {
    segments: Array<{ pillars: Array<{ unit: number }> }>;
  };
  assert.deepEqual(
    explained.segments[0]?.pillars.map((p) => p.unit),
    [0, 1, 2, 6, 4, 5],
  );
});

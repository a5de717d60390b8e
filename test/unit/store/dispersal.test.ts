import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import {
  codecFor,
  encodeStream,
  formatSliceName,
  s3Crc32,
  sliceNamesOf,
} from '../../../shared/codec/index.ts';
import {
  DispersalStateError,
  InvalidParameterError,
  RevisionNotFoundError,
  TopologySupersededError,
} from '../../../shared/errors.ts';
import {
  commitWhenDone,
  defaultTasks,
  recordStatusesOnce,
} from '../../../shared/store/committer.ts';
import { tombstoneLifetimeMs } from '../../../shared/store/deleter.ts';
import {
  announceSegments,
  completeDispersal,
  type DispersalDeps,
  openDispersal,
  presignSlices,
} from '../../../shared/store/dispersal.ts';
import {
  CANCELLED_BY_WRITER,
  cancelDispersal,
  describeDispersal,
  listDispersals,
} from '../../../shared/store/dispersal-state.ts';
import { CLIENT_URL_LIFETIME_MS, runJanitor, TIMED_OUT } from '../../../shared/store/janitor.ts';
import { extendedDueAt, MAX_PENDING_AGE_MS } from '../../../shared/store/revision.ts';
import { isSuperseded } from '../../../shared/store/superseded-write.ts';
import { SUPERSEDED_GRACE_MS, storeSlicesOnce } from '../../../shared/store/unit.ts';
import type { Vault } from '../../../shared/store/vault.ts';
import { ManualClock } from '../../helpers/clock.ts';
import {
  MemoryEventBus,
  MemoryLedger,
  MemoryMulticast,
  MemoryObjectIndex,
  MemorySliceStore,
  MemoryVaultStore,
} from '../../helpers/memory/index.ts';

const vault: Vault = {
  name: 'clips',
  width: 6,
  readThreshold: 4,
  writeThreshold: 5,
  segmentSize: 64 * 1024,
  units: [2, 3, 4, 5, 6, 7],
  address: 'vault/clips',
  createdAt: new Date(0).toISOString(),
};

/** Dispersal deps over memory ports; the presigner records what it signed. */
function world() {
  const signed: Array<{ unit: number; key: string; crc32: string; size: number; ttl: number }> = [];
  const multicast = new MemoryMulticast();
  const deps: DispersalDeps = {
    vaults: new MemoryVaultStore([vault]),
    ledger: new MemoryLedger(),
    index: new MemoryObjectIndex(),
    multicast,
    presigner: {
      presignPut: async (unit, key, crc32, size, ttl) => {
        signed.push({ unit, key, crc32, size, ttl });
        return `memory://${unit}/${key}`;
      },
      presignGet: () => Promise.reject(new Error('a dispersal signs no GET')),
    },
    clock: systemClock,
    pendingTimeoutMs: 60_000,
  };
  return { deps, signed, multicast, slices: new MemorySliceStore(8) };
}

async function* once(bytes: Uint8Array) {
  yield bytes;
}

/** Encodes `body` as the client does, for the revision `opened` names. */
async function encode(opened: { vault: string; objectId: string; revision: string }, body: Buffer) {
  const stream = encodeStream(once(body), {
    codec: codecFor(4, 2),
    segmentSize: vault.segmentSize,
    name: sliceNamesOf(opened),
  });
  const segments: Array<{ segment: number; slices: Uint8Array[] }> = [];
  for (;;) {
    const step = await stream.next();
    if (step.done) return { segments, summary: step.value };
    segments.push({ segment: step.value.index, slices: step.value.slices });
  }
}

const describeSegments = (segments: Array<{ segment: number; slices: Uint8Array[] }>) =>
  segments.map((s) => ({
    segment: s.segment,
    slices: s.slices.map((b, pillar) => ({ pillar, crc32: s3Crc32(b), size: b.length })),
  }));

test('a client dispersal is recorded pending as the writer records one, and commits through units and committer', async () => {
  // Prepare
  const { deps, signed, multicast, slices } = world();
  const body = randomBytes(3 * vault.segmentSize + 99);

  // Act: open, URLs, the client's PUTs (straight into the units' buckets), announce, units
  // verify, the committer tallies, complete.
  const opened = await openDispersal(
    deps,
    'clips',
    { key: 'a/b.bin', contentType: 'video/mp4', ifNoneMatch: '*' },
    'ROOT1',
  );
  const pending = await deps.ledger.get(opened.revision);
  const { segments, summary } = await encode(opened, body);
  const urls = await presignSlices(
    deps,
    'clips',
    opened.revision,
    { segments: describeSegments(segments) },
    'ROOT1',
  );
  for (const s of segments)
    for (const [pillar, bytes] of s.slices.entries())
      await slices.put(
        vault.units[pillar] as number,
        formatSliceName(sliceNamesOf(opened)(s.segment, pillar)),
        bytes,
        s3Crc32(bytes),
      );
  const announced = await announceSegments(
    deps,
    'clips',
    opened.revision,
    { segments: describeSegments(segments) },
    'ROOT1',
  );
  for (const unit of vault.units) {
    await storeSlicesOnce(
      {
        unit,
        slices,
        multicast,
        subscriptions: { addresses: async () => new Set([vault.address]) },
        foreign: () => assert.fail('no message is foreign'),
        conflict: () => assert.fail('no slice conflicts'),
      },
      multicast.messages.map((m) => ({ message: m.message, attributeAddress: m.address })),
    );
  }
  const statuses = multicast.statusMessages.flatMap((m) => m.message.statuses);
  const committer = {
    ledger: deps.ledger,
    clock: systemClock,
    tasks: defaultTasks({
      index: deps.index,
      ledger: deps.ledger,
      events: new MemoryEventBus(),
      clock: systemClock,
    }),
  };
  await recordStatusesOnce(committer, statuses);
  // The statuses were all in before the count: completing nudges the committer, as the writer.
  deps.multicast = {
    ...multicast,
    send: (a, m) => multicast.send(a, m),
    statuses: (a, s) => multicast.statuses(a, s),
    nudge: async (_address, revision) => {
      await commitWhenDone(committer, [revision]);
    },
  };
  const outcome = await completeDispersal(deps, 'clips', opened.revision, summary, 2000, 'ROOT1');

  // Assess
  assert.equal(urls.urls.length, segments.length * 6);
  assert.equal(announced.announced, segments.length);
  assert.equal(signed[0]?.ttl, 300, 'URLs live 5 minutes unless asked otherwise');
  assert.deepEqual(
    signed.slice(0, 6).map((s) => s.unit),
    vault.units,
    'each slice goes to its own unit',
  );
  assert.deepEqual(
    urls.urls[0]?.headers,
    { 'x-amz-checksum-crc32': urls.urls[0]?.crc32, 'if-none-match': '*' },
    'each PUT sends its CRC-32, and creates its key only (the URL signs both)',
  );
  assert.equal(pending?.state, 'pending');
  assert.deepEqual(
    {
      segmentSize: pending?.segmentSize,
      readThreshold: pending?.readThreshold,
      writeThreshold: pending?.writeThreshold,
      units: pending?.units,
      writer: pending?.writer,
      precondition: pending?.precondition,
      attributes: pending?.attributes,
    },
    {
      segmentSize: vault.segmentSize,
      readThreshold: 4,
      writeThreshold: 5,
      units: vault.units,
      writer: 'ROOT1',
      precondition: { ifNoneMatch: '*' },
      attributes: { contentType: 'video/mp4' },
    },
  );
  for (const { message } of multicast.messages)
    for (const s of message.slices) assert.equal(s.data, undefined, 'claim-check: no bytes');
  assert.equal(statuses.length, segments.length * 6);
  assert.ok(statuses.every((s) => s.ok));
  assert.equal(outcome.state, 'committed');
  assert.equal(outcome.state === 'committed' && outcome.sha256, summary.sha256);
});

test('bad dispersal calls are refused naming the field and the rule, and only the opener may feed one', async () => {
  const { deps } = world();
  const opened = await openDispersal(deps, 'clips', { key: 'x.bin' }, 'ROOT1');
  const oneSlice = {
    segments: [{ segment: 0, slices: [{ pillar: 0, crc32: 'AAAAAA==', size: 9 }] }],
  };
  const cases: Array<[unknown, RegExp]> = [
    [oneSlice, /segments\[0\]\.slices: must list each pillar 0\.\.5 once/],
    [{ segments: [] }, /segments: must name at least one segment/],
    [
      { segments: [{ segment: 0, slices: [{ pillar: 0, crc32: 'nope', size: 9 }] }] },
      /crc32: must be a base64 CRC-32/,
    ],
    [{ segments: oneSlice.segments, expiresInSeconds: 0 }, /expiresInSeconds/],
  ];
  for (const [body, rule] of cases)
    await assert.rejects(
      presignSlices(deps, 'clips', opened.revision, body, 'ROOT1'),
      (err: Error) => err instanceof InvalidParameterError && rule.test(err.message),
    );
  await assert.rejects(
    openDispersal(deps, 'clips', { key: 'x.bin', extra: 1 }),
    InvalidParameterError,
  );
  // A client says nothing about what it wrote but its summary: no scan verdict of its own.
  await assert.rejects(
    completeDispersal(
      deps,
      'clips',
      opened.revision,
      { segments: 1, size: 9, sha256: 'a'.repeat(64), scanned: { state: 'clean' } },
      0,
      'ROOT1',
    ),
    (err: Error) => err instanceof InvalidParameterError && /scanned/.test(err.message),
  );
  assert.equal((await deps.ledger.get(opened.revision))?.scanned, undefined);
  // A count short of the size's segments would commit segments no unit confirmed.
  const size = 3 * opened.segmentSize - 1;
  await assert.rejects(
    completeDispersal(
      deps,
      'clips',
      opened.revision,
      { segments: 1, size, sha256: 'a'.repeat(64) },
      0,
      'ROOT1',
    ),
    (err: Error) =>
      err instanceof InvalidParameterError &&
      err.message ===
        `segments: must be 3 for ${size} bytes in segments of ${opened.segmentSize}, got 1`,
  );
  assert.equal((await deps.ledger.get(opened.revision))?.segments, undefined, 'nothing recorded');
  const full = {
    segments: [
      {
        segment: 0,
        slices: [0, 1, 2, 3, 4, 5].map((pillar) => ({ pillar, crc32: 'AAAAAA==', size: 9 })),
      },
    ],
  };
  await assert.rejects(
    presignSlices(deps, 'clips', opened.revision, full, 'SOMEONE-ELSE'),
    RevisionNotFoundError,
  );
  await deps.ledger.fail(opened.revision, 'timed out', systemClock.now());
  await assert.rejects(
    presignSlices(deps, 'clips', opened.revision, full, 'ROOT1'),
    DispersalStateError,
  );
});

test('a cancelled dispersal fails at once, is due to the janitor, never commits after, and answers the same again', async () => {
  // Prepare: two dispersals of ROOT1's; the second commits before its cancel arrives.
  const { deps } = world();
  const cancelled = await openDispersal(deps, 'clips', { key: 'gone.bin' }, 'ROOT1');
  const committed = await openDispersal(deps, 'clips', { key: 'kept.bin' }, 'ROOT1');
  const summary = { segments: 1, size: 9, sha256: 'a'.repeat(64) };
  await deps.ledger.finishWriting(committed.revision, summary);
  assert.ok(await deps.ledger.commitWhole(committed.revision, 1, new Date()));

  // Act
  const first = await cancelDispersal(deps, 'clips', cancelled.revision, 'ROOT1');
  const again = await cancelDispersal(deps, 'clips', cancelled.revision, 'ROOT1');
  await deps.ledger.finishWriting(cancelled.revision, summary);
  const lateCommit = await deps.ledger.commitWhole(cancelled.revision, 1, new Date());
  const tooLate = cancelDispersal(deps, 'clips', committed.revision, 'ROOT1');
  const another = cancelDispersal(deps, 'clips', cancelled.revision, 'SOMEONE-ELSE');
  const elsewhere = cancelDispersal(deps, 'other', cancelled.revision, 'ROOT1');

  // Assess
  const expected = { revision: cancelled.revision, state: 'failed', reason: CANCELLED_BY_WRITER };
  assert.deepEqual(first, expected);
  assert.deepEqual(again, expected);
  assert.equal(lateCommit, undefined, 'a cancelled revision cannot commit');
  assert.equal((await deps.ledger.get(cancelled.revision))?.state, 'failed');
  const due = await deps.ledger.due(systemClock.now(), 10);
  assert.deepEqual(
    due.map((r) => r.revision),
    [cancelled.revision],
    'due to the janitor now, not after its timeout; the committed one is not due',
  );
  await assert.rejects(
    tooLate,
    (err: Error) =>
      err instanceof DispersalStateError && /had committed before the cancel/.test(err.message),
  );
  assert.equal((await deps.ledger.get(committed.revision))?.state, 'committed');
  await assert.rejects(another, RevisionNotFoundError);
  await assert.rejects(elsewhere, RevisionNotFoundError);
});

test('a dispersal that keeps calling is never timed out, however long it runs; one that stops is, a timeout after its last call', async () => {
  // Prepare: a 60 s pending timeout, on a clock the test moves.
  const clock = new ManualClock();
  const { deps, slices } = world();
  deps.clock = clock;
  const janitor = () => runJanitor({ ledger: deps.ledger, slices, clock });
  const opened = await openDispersal(deps, 'clips', { key: 'long.bin' }, 'ROOT1');
  const t0 = clock.now();
  const segment = (n: number) => ({
    segments: [
      {
        segment: n,
        slices: [0, 1, 2, 3, 4, 5].map((pillar) => ({ pillar, crc32: 'AAAAAA==', size: 9 })),
      },
    ],
  });
  const urls = (n: number) => presignSlices(deps, 'clips', opened.revision, segment(n), 'ROOT1');
  const dueAt = async () => (await deps.ledger.get(opened.revision))?.dueAt;

  // Act, Assess: with more than half the timeout left, a call writes nothing.
  clock.advance(20_000);
  const early = await urls(0);
  assert.equal(await dueAt(), t0 + 60_000);
  assert.equal(early.pendingUntil, new Date(t0 + 60_000).toISOString());
  // With less, it moves the due time on to a whole timeout from the call, for every kind of call.
  clock.advance(20_000);
  const late = await urls(1);
  assert.equal(late.pendingUntil, new Date(t0 + 100_000).toISOString());
  clock.advance(40_000);
  await announceSegments(deps, 'clips', opened.revision, segment(1), 'ROOT1');
  assert.equal(await dueAt(), t0 + 140_000);
  // 80 s in, past the first due time: the janitor leaves it alone.
  assert.deepEqual(await janitor(), { timedOut: 0, purged: 0, slicesDeleted: 0, more: false });
  assert.equal((await deps.ledger.get(opened.revision))?.state, 'pending');
  // Silent from then on: failed a timeout after its last call, and later calls are refused.
  clock.advance(59_999);
  assert.equal((await janitor()).timedOut, 0);
  clock.advance(1);
  assert.deepEqual(await janitor(), { timedOut: 1, purged: 1, slicesDeleted: 0, more: false });
  const failed = await deps.ledger.get(opened.revision);
  assert.deepEqual([failed?.state, failed?.resweep], ['failed', true], 'failed, slices removed');
  await assert.rejects(urls(2), DispersalStateError);
  // A URL given before still works for its hour: a slice it places late is found by the last
  // look, when no URL of the dispersal can work any more, and then the record goes.
  const straggler = formatSliceName(sliceNamesOf(opened)(1, 0));
  await slices.put(
    vault.units[0] as number,
    straggler,
    Uint8Array.from([1]),
    s3Crc32(Uint8Array.from([1])),
  );
  clock.advance(CLIENT_URL_LIFETIME_MS - 1);
  assert.equal((await janitor()).purged, 0);
  clock.advance(1);
  assert.deepEqual(await janitor(), { timedOut: 0, purged: 1, slicesDeleted: 1, more: false });
  assert.equal(await slices.head(vault.units[0] as number, straggler), undefined);
  assert.equal(await deps.ledger.get(opened.revision), undefined, 'purged after its last look');
  await assert.rejects(urls(3), RevisionNotFoundError);
});

test('a dispersal past its longest age is failed by its next call, which says so; no janitor run is waited for', async () => {
  // Prepare: a dispersal that kept calling until its 12 hours were up.
  const clock = new ManualClock();
  const { deps } = world();
  deps.clock = clock;
  const opened = await openDispersal(deps, 'clips', { key: 'forever.bin' }, 'ROOT1');
  const segment = {
    segments: [
      {
        segment: 0,
        slices: [0, 1, 2, 3, 4, 5].map((pillar) => ({ pillar, crc32: 'AAAAAA==', size: 9 })),
      },
    ],
  };
  for (let at = 0; at < MAX_PENDING_AGE_MS; at += 30_000) {
    clock.advance(30_000);
    await presignSlices(deps, 'clips', opened.revision, segment, 'ROOT1').catch(() => undefined);
  }
  clock.advance(60_000);

  // Act, Assess
  await assert.rejects(
    presignSlices(deps, 'clips', opened.revision, segment, 'ROOT1'),
    (err: Error) =>
      err instanceof DispersalStateError && /past the longest|is failed/.test(err.message),
  );
  const record = await deps.ledger.get(opened.revision);
  assert.deepEqual([record?.state, record?.reason], ['failed', TIMED_OUT]);
});

test('a pending write moves on at most to its longest age, and a tombstone outlives that age', () => {
  const hour = 3_600_000;
  const timeout = 900_000;
  // Half or more left: no move. Less: a whole timeout from now.
  assert.equal(extendedDueAt(0, timeout, 400_000, timeout), undefined);
  assert.equal(extendedDueAt(0, timeout, 500_000, timeout), 500_000 + timeout);
  // Near its longest age (12 h): up to that age and no further, then no move at all.
  const oldAge = MAX_PENDING_AGE_MS - 100_000;
  assert.equal(extendedDueAt(0, oldAge + 50_000, oldAge, timeout), MAX_PENDING_AGE_MS);
  assert.equal(extendedDueAt(0, MAX_PENDING_AGE_MS, MAX_PENDING_AGE_MS - 1, timeout), undefined);
  // A timeout longer than that age is a longest age of its own.
  assert.equal(extendedDueAt(0, 20 * hour, 20 * hour - 1, 24 * hour), 24 * hour);
  // No revision older than a delete can commit once its tombstone is gone.
  assert.ok(tombstoneLifetimeMs(timeout) > MAX_PENDING_AGE_MS);
  assert.ok(tombstoneLifetimeMs(24 * hour) > 24 * hour);
});

test('a dispersal as it stands names the segments done, each with the checksums it was announced with', async () => {
  // Prepare: segments 0 and 1 announced; 0 and 2 done (2 as a server-side write marks one).
  const { deps } = world();
  const opened = await openDispersal(deps, 'clips', { key: 'resumable.bin' }, 'ROOT1');
  const crcs = (n: number) => [0, 1, 2, 3, 4, 5].map((p) => `AAAA${n}${p}==`);
  const segments = [0, 1].map((segment) => ({
    segment,
    slices: crcs(segment).map((crc32, pillar) => ({ pillar, crc32, size: 9 })),
  }));
  await announceSegments(deps, 'clips', opened.revision, { segments }, 'ROOT1');
  await deps.ledger.markSegmentsDone(opened.revision, [0, 2]);

  // Act
  const state = await describeDispersal(deps, 'clips', opened.revision, 'ROOT1');
  const another = describeDispersal(deps, 'clips', opened.revision, 'SOMEONE-ELSE');

  // Assess
  assert.deepEqual(
    { ...state, pendingUntil: undefined },
    {
      ...opened,
      pendingUntil: undefined,
      state: 'pending',
      segmentsDone: [{ segment: 0, crc32: crcs(0) }, { segment: 2 }],
    },
  );
  await assert.rejects(another, RevisionNotFoundError);
});

test("a writer lists its own pending dispersals in a vault, by page; committed and cancelled ones go, others' never show", async () => {
  // Prepare: three dispersals of ROOT1's (one commits, one is cancelled), one of ROOT2's.
  const { deps } = world();
  const open = (key: string, writer: string) => openDispersal(deps, 'clips', { key }, writer);
  const a = await open('a.bin', 'ROOT1');
  const b = await open('b.bin', 'ROOT1');
  const c = await open('c.bin', 'ROOT1');
  const d = await open('d.bin', 'ROOT1');
  await open('theirs.bin', 'ROOT2');

  // Act
  const first = await listDispersals(deps, 'clips', { limit: '2' }, 'ROOT1');
  const second = await listDispersals(deps, 'clips', { cursor: first.cursor }, 'ROOT1');
  await deps.ledger.finishWriting(a.revision, { segments: 1, size: 9, sha256: 'a'.repeat(64) });
  assert.ok(await deps.ledger.commitWhole(a.revision, 1, new Date()));
  await cancelDispersal(deps, 'clips', c.revision, 'ROOT1');
  const left = await listDispersals(deps, 'clips', {}, 'ROOT1');

  // Assess: two pages in revision order (oldest first: by the millisecond, then at random).
  const byRevision = [a, b, c, d].map((x) => x.revision).sort();
  assert.deepEqual(
    [...first.dispersals, ...second.dispersals].map((x) => x.revision),
    byRevision,
  );
  assert.equal(first.cursor, byRevision[1]);
  assert.equal(second.cursor, undefined);
  const listedA = [...first.dispersals, ...second.dispersals].find((x) => x.key === 'a.bin');
  assert.deepEqual(listedA, {
    revision: a.revision,
    key: 'a.bin',
    createdAt: listedA?.createdAt,
    pendingUntil: a.pendingUntil,
  });
  assert.deepEqual(
    left.dispersals.map((x) => x.revision),
    [b.revision, d.revision].sort(),
  );
  assert.deepEqual(await listDispersals(deps, 'other', {}, 'ROOT1'), { dispersals: [] });
  assert.deepEqual(await listDispersals(deps, 'clips', {}, 'ROOT3'), { dispersals: [] });
});

test('a dispersal listing refuses a bad query naming the parameter and the rule', async () => {
  const { deps } = world();
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ limit: '0' }, 'limit', /1\.\.100|between 1 and 100|from 1 to 100/],
    [{ limit: 'many' }, 'limit', /integer/],
    [{ cursor: '' }, 'cursor', /./],
    [{ after: 'x' }, 'after', /not a dispersal listing parameter/],
  ];
  for (const [query, field, rule] of cases)
    await assert.rejects(
      listDispersals(deps, 'clips', query, 'ROOT1'),
      (err: unknown) =>
        err instanceof InvalidParameterError && err.field.endsWith(field) && rule.test(err.rule),
      JSON.stringify(query),
    );
});

test('a dispersal whose vault moved to another topology past the grace is failed at its next call, which says why; within the grace it goes on', async () => {
  // Prepare: the vault on topology OLD; two dispersals opened under it.
  const { deps } = world();
  const OLD = 'a'.repeat(64);
  const NEW = 'b'.repeat(64);
  let current: Partial<Vault> = { topology: OLD, topologySince: 0 };
  const vaults = deps.vaults;
  deps.vaults = {
    create: (v) => vaults.create(v),
    list: () => vaults.list(),
    get: async (name) => ({ ...(await vaults.get(name)), ...current }),
  };
  const late = await openDispersal(deps, 'clips', { key: 'late.bin' }, 'ROOT1');
  const early = await openDispersal(deps, 'clips', { key: 'early.bin' }, 'ROOT1');
  const body = randomBytes(100_000);
  const segments = describeSegments((await encode(late, body)).segments);

  // Act: the vault moves to NEW; a call within the grace, then one past it.
  current = { topology: NEW, topologySince: systemClock.now() - 1000 };
  const inGrace = await presignSlices(deps, 'clips', early.revision, { segments }, 'ROOT1');
  current = { topology: NEW, topologySince: systemClock.now() - SUPERSEDED_GRACE_MS - 1000 };
  const refused = presignSlices(deps, 'clips', late.revision, { segments }, 'ROOT1');

  // Assess
  assert.equal(inGrace.urls.length, segments.length * 6);
  await assert.rejects(
    refused,
    (err: Error) =>
      err instanceof TopologySupersededError &&
      err.message.startsWith(
        `write ${late.revision} failed: written under a superseded topology (${OLD}); the vault moved to ${NEW}`,
      ) &&
      err.message.endsWith('and its data with it: write it again'),
  );
  const failed = await deps.ledger.get(late.revision);
  assert.equal(failed?.state, 'failed');
  assert.ok(isSuperseded(failed?.reason));
  await assert.rejects(
    announceSegments(deps, 'clips', late.revision, { segments }, 'ROOT1'),
    DispersalStateError,
  );
});

test("an open's token is kept and listed with its dispersal; a token not 16-64 of [A-Za-z0-9_-] is refused naming it", async () => {
  // Prepare
  const { deps } = world();
  const token = 'b3c1d2e4-aaaa-4bbb-8ccc-123456789abc';

  // Act
  const opened = await openDispersal(deps, 'clips', { key: 'tok.bin', token }, 'ROOT1');
  const plain = await openDispersal(deps, 'clips', { key: 'plain.bin' }, 'ROOT1');
  const listed = await listDispersals(deps, 'clips', {}, 'ROOT1');

  // Assess
  assert.deepEqual(
    listed.dispersals.map((d) => [d.revision, d.token]),
    [
      [opened.revision, token],
      [plain.revision, undefined],
    ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
  );
  for (const bad of ['short', 'x'.repeat(65), 'has spaces in it here', 'ünïcode-token-123456'])
    await assert.rejects(
      openDispersal(deps, 'clips', { key: 'bad.bin', token: bad }, 'ROOT1'),
      (err: Error) => err instanceof InvalidParameterError && /token/.test(err.message),
    );
});

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
} from '../../../shared/errors.ts';
import {
  commitWhenDone,
  defaultTasks,
  recordStatusesOnce,
} from '../../../shared/store/committer.ts';
import {
  announceSegments,
  CANCELLED_BY_WRITER,
  cancelDispersal,
  completeDispersal,
  type DispersalDeps,
  openDispersal,
  presignSlices,
} from '../../../shared/store/dispersal.ts';
import { storeSlicesOnce } from '../../../shared/store/unit.ts';
import type { Vault } from '../../../shared/store/vault.ts';
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

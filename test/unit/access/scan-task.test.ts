import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  BUILTIN_RULES,
  everyScanner,
  parseRules,
  type Scanner,
  scanRevision,
  scanStream,
  signatureScanner,
} from '../../../shared/access/index.ts';
import { systemClock } from '../../../shared/clock.ts';
import { codecFor } from '../../../shared/codec/codecs.ts';
import { encodeSegment } from '../../../shared/codec/segment.ts';
import { encodeSlice, s3Crc32 } from '../../../shared/codec/slice-header.ts';
import { formatSliceName } from '../../../shared/codec/slice-name.ts';
import type { IndexEntry, RevisionRecord } from '../../../shared/store/index.ts';
import { newRevisionId, objectIdOf } from '../../../shared/store/revision.ts';
import { MemoryLogger } from '../../helpers/logger.ts';
import {
  MemoryEventBus,
  MemoryObjectIndex,
  MemoryRepairQueue,
  MemorySliceStore,
} from '../../helpers/memory/index.ts';

const EICAR = Buffer.from(
  '58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a',
  'hex',
);
const K = 2;
const N = 3;
/** Small segments, so an object of a few hundred bytes spans several and a pattern straddles. */
const SEGMENT = 48;

/** A committed revision of `bytes` at `key`: its slices on units 0..2, its entry published. */
async function world(bytes: Uint8Array, options: { maxBytes?: number; scanner?: Scanner } = {}) {
  const slices = new MemorySliceStore(N);
  const index = new MemoryObjectIndex();
  const events = new MemoryEventBus();
  const log = new MemoryLogger();
  const key = 'in/file.bin';
  const revision = newRevisionId();
  const segments = Math.max(1, Math.ceil(bytes.length / SEGMENT));
  const record: RevisionRecord = {
    revision,
    vault: 'vault1',
    key,
    objectId: objectIdOf('vault1', key),
    state: 'committed',
    segments,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    segmentSize: SEGMENT,
    readThreshold: K,
    writeThreshold: N,
    units: [0, 1, 2],
    doneSegments: segments,
    failedUnits: [],
    createdAt: new Date().toISOString(),
    committedAt: new Date().toISOString(),
    tasksDone: false,
  };
  for (let s = 0; s < segments; s++) {
    const segment = bytes.subarray(s * SEGMENT, (s + 1) * SEGMENT);
    for (const [pillar, payload] of encodeSegment(codecFor(K, N - K), segment).entries()) {
      const name = { ...record, segment: s, pillar };
      const slice = encodeSlice(
        { name, dataShards: K, parityShards: N - K, segmentLength: segment.length },
        payload,
      );
      await slices.put(pillar, formatSliceName(name), slice, s3Crc32(slice));
    }
  }
  const entry: IndexEntry = {
    vault: 'vault1',
    key,
    revision,
    objectId: record.objectId,
    size: bytes.length,
    sha256: record.sha256 as string,
    segments,
    segmentSize: SEGMENT,
    readThreshold: K,
    units: record.units,
    committedAt: record.committedAt as string,
    scanState: 'pending',
  };
  await index.publish(entry);
  const deps = {
    index,
    reader: {
      index,
      slices,
      repair: new MemoryRepairQueue(),
      log,
      clock: systemClock,
      hedgeMs: 1000,
    },
    scanner: options.scanner ?? signatureScanner(async () => parseRules(BUILTIN_RULES).rules),
    events,
    clock: systemClock,
    log,
    maxBytes: options.maxBytes ?? 1 << 20,
  };
  return { deps, record, index, events, key };
}

test('EICAR inside an object, cut by a segment boundary, ends infected and announced once', async () => {
  // Prepare: EICAR starts 20 bytes before the end of segment 2.
  const bytes = Buffer.concat([randomBytes(3 * SEGMENT - 20), EICAR, randomBytes(30)]);
  const w = await world(bytes);

  // Act
  const verdict = await scanRevision(w.deps, w.record);

  // Assess
  assert.deepEqual(verdict, { state: 'infected', signature: 'Eicar-Test-Signature.body' });
  const entry = await w.index.get('vault1', w.key);
  assert.equal(entry?.scanState, 'infected');
  assert.equal(entry?.scanDetail, 'Eicar-Test-Signature.body');
  assert.deepEqual(
    w.events.events.map((e) => [e.type, e.key, e.revision, e.signature]),
    [['object.quarantined', w.key, w.record.revision, 'Eicar-Test-Signature.body']],
  );
});

test('the bare EICAR file is caught; a clean object ends clean with no event', async () => {
  const infected = await world(EICAR);
  assert.equal((await scanRevision(infected.deps, infected.record))?.state, 'infected');

  const clean = await world(Buffer.from('nothing to see here, just plain text '.repeat(9)));
  assert.deepEqual(await scanRevision(clean.deps, clean.record), { state: 'clean' });
  assert.equal((await clean.index.get('vault1', clean.key))?.scanState, 'clean');
  assert.deepEqual(clean.events.events, []);
});

test('an object over the scan limit ends skipped, with the reason, and is not read', async () => {
  // Prepare: a scanner that fails if it is ever opened.
  const never: Scanner = {
    name: 'never',
    open: async () => assert.fail('an object over the limit must not be scanned'),
  };
  const w = await world(Buffer.concat([EICAR, randomBytes(100)]), {
    maxBytes: 100,
    scanner: never,
  });

  // Act
  const verdict = await scanRevision(w.deps, w.record);

  // Assess
  assert.equal(verdict?.state, 'skipped');
  const entry = await w.index.get('vault1', w.key);
  assert.equal(entry?.scanState, 'skipped');
  assert.match(entry?.scanDetail ?? '', /168 bytes is over the scan limit of 100/);
});

test("a revision its server-side writer scanned takes the writer's verdict, and is not read back", async () => {
  // Prepare: the writer found EICAR; the committed slices hold it too, but the task must
  // neither open a scanner nor read a slice.
  const never: Scanner = {
    name: 'never',
    open: async () => assert.fail("a revision with its writer's verdict must not be scanned again"),
  };
  const w = await world(EICAR, { scanner: never });
  const slices = w.deps.reader.slices;
  slices.get = async () => assert.fail('the object must not be read back');
  const record: RevisionRecord = {
    ...w.record,
    scanned: { state: 'infected', signature: 'Eicar-Test-Signature.writer' },
  };

  // Act
  const verdict = await scanRevision(w.deps, record);

  // Assess: recorded and announced as a scan of its own would be.
  assert.deepEqual(verdict, { state: 'infected', signature: 'Eicar-Test-Signature.writer' });
  const entry = await w.index.get('vault1', w.key);
  assert.equal(entry?.scanState, 'infected');
  assert.equal(entry?.scanDetail, 'Eicar-Test-Signature.writer');
  assert.deepEqual(
    w.events.events.map((e) => [e.type, e.signature]),
    [['object.quarantined', 'Eicar-Test-Signature.writer']],
  );
});

test('a revision its server-side writer found clean is left as the index task published it: no read of the entry, no write', async () => {
  // Prepare: neither the scanner, nor a slice, nor the index may be touched.
  const never: Scanner = {
    name: 'never',
    open: async () => assert.fail("a revision with its writer's verdict must not be scanned again"),
  };
  const clean = await world(Buffer.from('plain text'), { scanner: never });
  clean.deps.reader.slices.get = async () => assert.fail('the object must not be read back');
  clean.index.get = async () => assert.fail('the entry must not be read');
  clean.index.setScanState = async () => assert.fail('the entry must not be written');

  // Act
  const verdict = await scanRevision(clean.deps, { ...clean.record, scanned: { state: 'clean' } });

  // Assess
  assert.deepEqual(verdict, { state: 'clean' });
  assert.deepEqual(clean.events.events, []);
});

test("a writer's clean verdict on an object over the scan limit does not stand: the object ends skipped", async () => {
  const w = await world(Buffer.from('plain text, but longer than the limit'), { maxBytes: 10 });
  const verdict = await scanRevision(w.deps, { ...w.record, scanned: { state: 'clean' } });
  assert.equal(verdict?.state, 'skipped');
  assert.equal((await w.index.get('vault1', w.key))?.scanState, 'skipped');
});

test('a revision the key no longer points at is neither scanned nor marked', async () => {
  // Prepare: a newer revision of the key is published after this one committed.
  const w = await world(EICAR);
  const newer = {
    ...(await w.index.get('vault1', w.key)),
    revision: newRevisionId(Date.now() + 1000),
  };
  await w.index.publish(newer as IndexEntry);

  // Act
  const verdict = await scanRevision(w.deps, w.record);

  // Assess
  assert.equal(verdict, undefined);
  assert.equal((await w.index.get('vault1', w.key))?.scanState, 'pending');
  assert.deepEqual(w.events.events, []);
});

test('scanning twice (a rerun of the commit tasks) records the same state', async () => {
  const w = await world(Buffer.concat([randomBytes(70), EICAR]));
  const first = await scanRevision(w.deps, w.record);
  const second = await scanRevision(w.deps, w.record);
  assert.deepEqual(first, second);
  assert.equal((await w.index.get('vault1', w.key))?.scanState, 'infected');
});

test('several scanners on one stream: infected if any finds one, clean only if all say so', async () => {
  // Prepare: one scanner that knows EICAR, one that knows nothing, one that always skips.
  const knows = signatureScanner(async () => parseRules(BUILTIN_RULES).rules);
  const blind = signatureScanner(async () => ({ hashes: [], patterns: [] }));
  const skips: Scanner = {
    name: 'skips',
    open: async () => ({
      write: async () => true,
      finish: async () => ({ state: 'skipped', reason: 'too big for it' }),
      abort: () => {},
    }),
  };
  async function* body(bytes: Uint8Array) {
    for (let at = 0; at < bytes.length; at += 7) yield bytes.subarray(at, at + 7);
  }

  // Act and assess
  assert.equal((await scanStream(everyScanner(blind, knows), body(EICAR), 68)).state, 'infected');
  assert.deepEqual(await scanStream(everyScanner(blind, blind), body(EICAR), 68), {
    state: 'clean',
  });
  assert.deepEqual(await scanStream(everyScanner(blind, skips), body(EICAR), 68), {
    state: 'skipped',
    reason: 'too big for it',
  });
  assert.equal((await scanStream(everyScanner(skips, knows), body(EICAR), 68)).state, 'infected');
});

test('an object whose segment lost too many slices ends skipped as unreadable, not retried forever', async () => {
  // Prepare: two of the three pillars of segment 1 are gone (k = 2).
  const w = await world(randomBytes(3 * SEGMENT));
  const slices = w.deps.reader.slices;
  for (const pillar of [0, 1])
    await slices.delete(pillar, [formatSliceName({ ...w.record, segment: 1, pillar })]);

  // Act
  const verdict = await scanRevision(w.deps, w.record);

  // Assess
  assert.equal(verdict?.state, 'skipped');
  assert.match(verdict?.state === 'skipped' ? verdict.reason : '', /^unreadable: .*segment 1/);
  assert.equal((await w.index.get('vault1', w.key))?.scanState, 'skipped');
});

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { BUILTIN_RULES, parseRules, signatureScanner } from '../../../shared/access/index.ts';
import { systemClock } from '../../../shared/clock.ts';
import { codecFor, formatSliceName, sliceNamesOf } from '../../../shared/codec/index.ts';
import { decodeStream, type FetchedSegment } from '../../../shared/codec/segment-stream.ts';
import type { UnitMessage } from '../../../shared/store/multicast.ts';
import type { SegmentJudge, WriteScanner } from '../../../shared/store/ports.ts';
import { objectIdOf, type RevisionRecord } from '../../../shared/store/revision.ts';
import type { Vault } from '../../../shared/store/vault.ts';
import { waitForOutcome } from '../../../shared/store/write-outcome.ts';
import {
  type WritePoint,
  type WriterDeps,
  writeObject,
  writeObjectInSteps,
} from '../../../shared/store/writer.ts';
import { ManualClock } from '../../helpers/clock.ts';
import {
  MemoryLedger,
  MemoryMulticast,
  MemoryObjectIndex,
  MemorySliceStore,
  MemoryVaultStore,
} from '../../helpers/memory/index.ts';

const MiB = 1024 * 1024;
const vault: Vault = {
  name: 'default',
  width: 6,
  readThreshold: 4,
  writeThreshold: 5,
  segmentSize: MiB,
  units: [0, 1, 2, 3, 4, 5],
  address: 'vault/default',
  createdAt: new Date(0).toISOString(),
};

/** A writer over memory adapters that record what it does; slice uploads wait for `release`. */
function recordingWriter() {
  const log: string[] = [];
  const sends: UnitMessage[][] = [];
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  class RecordingLedger extends MemoryLedger {
    override async createPending(record: RevisionRecord, dueAt: number) {
      await super.createPending(record, dueAt);
      log.push('createPending');
    }
    override async openSegment(revision: string, segment: number, judge: SegmentJudge) {
      log.push(`open ${segment}`);
      await super.openSegment(revision, segment, judge);
    }
    override async finishWriting(
      revision: string,
      info: { segments: number; size: number; sha256: string },
    ) {
      log.push(`finish ${info.segments}`);
      return super.finishWriting(revision, info);
    }
  }
  class GatedSlices extends MemorySliceStore {
    override async put(unit: number, key: string, body: Uint8Array, crc32: string) {
      await gate;
      await super.put(unit, key, body, crc32);
    }
  }
  const deps: WriterDeps = {
    ledger: new RecordingLedger(),
    vaults: new MemoryVaultStore([vault]),
    slices: new GatedSlices(vault.units.length),
    multicast: {
      send: async (_address, messages) => {
        sends.push(messages);
        log.push(`send ${messages.map((m) => m.segment).join('+')}`);
      },
      statuses: async () => {},
      nudge: async () => {},
    },
    index: new MemoryObjectIndex(),
    clock: systemClock,
    pendingTimeoutMs: 60_000,
  };
  return { deps, log, sends, release };
}

async function* chunks(total: number) {
  for (let sent = 0; sent < total; sent += 256 * 1024) yield new Uint8Array(256 * 1024);
}

test('segments placed together share one publish; each segment is opened before it is sent', async () => {
  // Prepare: two segments whose slices are all in flight at once.
  const { deps, log, sends, release } = recordingWriter();

  // Act
  const writing = writeObject(deps, 'default', 'two/segments', chunks(2 * MiB), { waitMs: 0 });
  await new Promise((r) => setImmediate(r));
  release();
  const outcome = await writing;

  // Assess
  assert.equal(outcome.state, 'pending');
  assert.deepEqual(
    sends.map((batch) => batch.map((m) => m.segment)),
    [[0, 1]],
  );
  assert.deepEqual([...log].sort(), ['createPending', 'finish 2', 'open 0', 'open 1', 'send 0+1']);
  assert.ok(log.indexOf('open 1') < log.indexOf('send 0+1'));
});

test('a body of one segment is recorded whole in its pending record (count, size, digest, verdict): no second write, and no nudge', async () => {
  // Prepare: a writer that records the pending record as created, and a scanner.
  const { deps, log, sends, release } = recordingWriter();
  let created: RevisionRecord | undefined;
  const createPending = deps.ledger.createPending.bind(deps.ledger);
  deps.ledger.createPending = async (record, dueAt) => {
    created = record;
    await createPending(record, dueAt);
  };
  const { scanner } = countingScanner(4 * MiB);
  deps.scan = scanner;
  const nudges: string[] = [];
  deps.multicast.nudge = async (_address, revision) => void nudges.push(revision);
  const body = randomBytes(MiB);

  // Act
  const writing = writeObject(deps, 'default', 'one/segment', parts(body), { waitMs: 0 });
  await new Promise((r) => setImmediate(r));
  release();
  const outcome = await writing;

  // Assess
  assert.equal(created?.segments, 1);
  assert.equal(created?.size, MiB);
  assert.equal(created?.sha256, createHash('sha256').update(body).digest('hex'));
  assert.deepEqual(created?.scanned, { state: 'clean' });
  assert.equal(created?.state, 'pending');
  assert.deepEqual((await deps.ledger.get(outcome.revision))?.segments, 1);
  assert.deepEqual([...log].sort(), ['createPending', 'open 0', 'send 0']);
  assert.ok(log.indexOf('createPending') < log.indexOf('send 0'));
  assert.equal(sends.length, 1);
  assert.deepEqual(nudges, []);
});

test('an empty body is one empty segment, recorded whole at once', async () => {
  const { deps, log, release } = recordingWriter();
  release();
  const outcome = await writeObject(deps, 'default', 'empty', parts(), { waitMs: 0 });
  const record = await deps.ledger.get(outcome.revision);
  assert.deepEqual([record?.segments, record?.size], [1, 0]);
  assert.deepEqual([...log].sort(), ['createPending', 'open 0', 'send 0']);
});

test('a body that fails within its first segment leaves nothing behind: no pending record, no slice', async () => {
  const { deps, log, release } = recordingWriter();
  release();
  async function* failing() {
    yield new Uint8Array(1000);
    throw new Error('the client went away');
  }
  await assert.rejects(writeObject(deps, 'default', 'cut', failing(), { waitMs: 0 }), /went away/);
  assert.deepEqual(log, []);
});

test('a committed write is visible once the index points at it, before its other tasks are marked done', async () => {
  // Prepare: the ledger says committed with tasks still running; the index says what it says.
  const revision = '00mwzq0jzn82050b176c0d6f34';
  const ledger = new MemoryLedger();
  await ledger.createPending(
    {
      revision,
      vault: 'default',
      key: 'k',
      objectId: objectIdOf('default', 'k'),
      state: 'pending',
      segmentSize: vault.segmentSize,
      readThreshold: vault.readThreshold,
      writeThreshold: vault.writeThreshold,
      units: vault.units,
      doneSegments: 0,
      failedUnits: [],
      createdAt: vault.createdAt,
      tasksDone: false,
    },
    60_000,
  );
  await ledger.finishWriting(revision, { segments: 1, size: 3, sha256: 'abc' });
  await ledger.markSegmentsDone(revision, [0]);
  await ledger.commit(revision, 1, new Date(0));
  const deps = async (indexed: string | undefined) => {
    const index = new MemoryObjectIndex();
    if (indexed) {
      await index.publish({
        vault: 'default',
        key: 'k',
        revision: indexed,
        objectId: objectIdOf('default', 'k'),
        size: 3,
        sha256: 'abc',
        segments: 1,
        segmentSize: vault.segmentSize,
        readThreshold: vault.readThreshold,
        units: vault.units,
        committedAt: new Date(0).toISOString(),
      });
    }
    return { ledger, index, clock: systemClock };
  };

  // Act
  const ours = await waitForOutcome(await deps(revision), 'k', revision, 1_000);
  const newer = await waitForOutcome(await deps(`${revision}z`), 'k', revision, 1_000);
  const older = await waitForOutcome(await deps('00mwzq0000'), 'k', revision, 30);

  // Assess: ours or a newer revision there means visible; an older one means not yet.
  assert.equal(ours.state, 'committed');
  assert.equal(newer.state, 'committed');
  assert.equal(older.state, 'pending');
});

test('a writer whose statuses all came in before it recorded the count nudges the committer, and commits nothing itself', async () => {
  // Prepare: the committer has marked every segment done by the time the count is recorded.
  class FastUnitsLedger extends MemoryLedger {
    override async finishWriting(
      revision: string,
      info: { segments: number; size: number; sha256: string },
    ) {
      const segments = Array.from({ length: info.segments }, (_, i) => i);
      await this.markSegmentsDone(revision, segments);
      return super.finishWriting(revision, info);
    }
  }
  const multicast = new MemoryMulticast();
  const ledger = new FastUnitsLedger();
  const deps: WriterDeps = {
    ledger,
    vaults: new MemoryVaultStore([vault]),
    slices: new MemorySliceStore(vault.units.length),
    multicast,
    index: new MemoryObjectIndex(),
    clock: systemClock,
    pendingTimeoutMs: 60_000,
  };

  // Act
  const outcome = await writeObject(deps, 'default', 'raced', chunks(2 * MiB), { waitMs: 0 });

  // Assess: one nudge for this revision to the vault's address; the revision is still pending
  // (only the committer flips it).
  assert.deepEqual(multicast.nudges, [
    { address: vault.address, message: { v: 1, nudge: outcome.revision } },
  ]);
  assert.equal((await ledger.get(outcome.revision))?.state, 'pending');
});

test('a writer whose statuses are still to come sends no nudge', async () => {
  const multicast = new MemoryMulticast();
  const deps: WriterDeps = {
    ledger: new MemoryLedger(),
    vaults: new MemoryVaultStore([vault]),
    slices: new MemorySliceStore(vault.units.length),
    multicast,
    index: new MemoryObjectIndex(),
    clock: systemClock,
    pendingTimeoutMs: 60_000,
  };

  await writeObject(deps, 'default', 'slow-units', chunks(MiB), { waitMs: 0 });

  assert.equal(multicast.messages.length, 1);
  assert.deepEqual(multicast.nudges, []);
});

/** A writer over memory adapters whose bytes go through `scan` as they are encoded. */
function scanningWriter(scan: WriteScanner) {
  const ledger = new MemoryLedger();
  const deps: WriterDeps = {
    ledger,
    vaults: new MemoryVaultStore([vault]),
    slices: new MemorySliceStore(vault.units.length),
    multicast: new MemoryMulticast(),
    index: new MemoryObjectIndex(),
    clock: systemClock,
    pendingTimeoutMs: 60_000,
    scan,
  };
  return { deps, ledger };
}

/** A scanner that counts what it is fed, and calls every object clean. */
function countingScanner(maxBytes: number) {
  const calls = { bytes: 0, finished: 0, aborted: 0 };
  const scanner: WriteScanner = {
    maxBytes,
    open: async () => ({
      write: async (chunk) => {
        calls.bytes += chunk.length;
        return false;
      },
      finish: async () => {
        calls.finished++;
        return { state: 'clean' };
      },
      abort: () => {
        calls.aborted++;
      },
    }),
  };
  return { scanner, calls };
}

async function* parts(...chunks: Uint8Array[]) {
  yield* chunks;
}

test("a writer's scan goes with the revision's segment count: a signature cut by a chunk boundary is found, clean bytes are clean", async () => {
  // Prepare: the built-in signatures, EICAR split between two chunks of a two-segment object.
  const signatures = signatureScanner(async () => parseRules(BUILTIN_RULES).rules);
  const { deps, ledger } = scanningWriter({ maxBytes: 4 * MiB, open: () => signatures.open() });
  const eicar = Buffer.from(
    'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*',
    'latin1',
  );
  const head = Buffer.concat([randomBytes(MiB + 100), eicar.subarray(0, 30)]);
  const tail = Buffer.concat([eicar.subarray(30), randomBytes(500)]);

  // Act
  const infected = await writeObject(deps, 'default', 'in/eicar', parts(head, tail), {
    waitMs: 0,
  });
  const clean = await writeObject(deps, 'default', 'in/clean', chunks(2 * MiB), { waitMs: 0 });

  // Assess
  const record = await ledger.get(infected.revision);
  assert.equal(record?.segments, 2);
  assert.equal(record?.scanned?.state, 'infected');
  assert.match(record?.scanned?.state === 'infected' ? record.scanned.signature : '', /Eicar/);
  assert.deepEqual((await ledger.get(clean.revision))?.scanned, { state: 'clean' });
});

test('an object over the scan limit gets no verdict from its writer (the scan task decides), and the scan stops at the limit', async () => {
  const { scanner, calls } = countingScanner(MiB);
  const { deps, ledger } = scanningWriter(scanner);

  const outcome = await writeObject(deps, 'default', 'big', chunks(2 * MiB), { waitMs: 0 });

  assert.equal((await ledger.get(outcome.revision))?.scanned, undefined);
  assert.equal(calls.bytes, MiB, 'fed up to the limit, no further');
  assert.deepEqual([calls.finished, calls.aborted], [0, 1]);
});

test('a body that fails mid-stream gives up its scan and records no verdict', async () => {
  const { scanner, calls } = countingScanner(4 * MiB);
  const { deps } = scanningWriter(scanner);
  async function* failing() {
    yield new Uint8Array(1000);
    throw new Error('the client went away');
  }

  await assert.rejects(writeObject(deps, 'default', 'cut', failing(), { waitMs: 0 }), /went away/);

  assert.deepEqual([calls.bytes, calls.finished, calls.aborted], [1000, 0, 1]);
});

test('a stream longer than half the pending timeout moves its revision on; a shorter one writes nothing for it', async () => {
  // Prepare: a 60 s timeout, and a body of four segments read 25 s apart.
  const { deps, release } = recordingWriter();
  const clock = new ManualClock();
  const extensions: number[] = [];
  const ledger = deps.ledger as MemoryLedger;
  const extend = ledger.extendPending.bind(ledger);
  ledger.extendPending = async (revision, dueAt) => {
    extensions.push(dueAt - clock.now());
    return extend(revision, dueAt);
  };
  const t0 = clock.now();
  async function* slow() {
    for (let s = 0; s < 4; s++) {
      if (s > 0) clock.advance(25_000);
      yield new Uint8Array(MiB);
    }
  }
  release();

  // Act
  const outcome = await writeObject({ ...deps, clock }, 'default', 'slow.bin', slow(), {
    waitMs: 0,
  });
  const short = await writeObject({ ...deps, clock }, 'default', 'quick.bin', chunks(2 * MiB), {
    waitMs: 0,
  });

  // Assess: recorded once segment 1 is read (25 s in: due at 85 s); segment 2 comes at 50 s
  // (35 s left: nothing), segment 3 at 75 s (10 s left: moved on to 135 s).
  assert.deepEqual(extensions, [60_000], 'one extension, a whole timeout from its call');
  assert.equal((await ledger.get(outcome.revision))?.dueAt, t0 + 75_000 + 60_000);
  assert.equal((await ledger.get(short.revision))?.dueAt, clock.now() + 60_000);
});

/** The object a revision's slices in `slices` decode to, `segments` segments of it. */
async function readBack(slices: MemorySliceStore, record: RevisionRecord, segments: number) {
  const codec = codecFor(record.readThreshold, record.units.length - record.readThreshold);
  const name = sliceNamesOf(record);
  async function* fetched(): AsyncGenerator<FetchedSegment> {
    for (let index = 0; index < segments; index++) {
      const names = record.units.map((_, pillar) => formatSliceName(name(index, pillar)));
      const got = await Promise.all(names.map((n, pillar) => slices.get(pillar, n)));
      yield { index, names, slices: got };
    }
  }
  return Buffer.concat(await Array.fromAsync(decodeStream(fetched(), codec)));
}

test('a write in steps stops at segment boundaries and resumes its one revision: each segment sent once, the summary of the whole body', async () => {
  // Prepare: 5.5 segments, a stop asked for at every second question (the first segment of a
  // new write goes before any).
  const { deps, log, sends, release } = recordingWriter();
  release();
  const body = randomBytes(5.5 * MiB);
  let sentInStep = 0;
  const stopBefore = () => ++sentInStep % 2 === 0;

  // Act: each step a call of its own, with the rest of the body and where the last stopped.
  let outcome = await writeObjectInSteps(deps, 'default', 'stepped', parts(body), {
    waitMs: 0,
    stopBefore,
  });
  const points: WritePoint[] = [];
  while (outcome.state === 'paused') {
    points.push(outcome.at);
    const record = await deps.ledger.get(outcome.revision);
    assert.ok(record);
    outcome = await writeObjectInSteps(
      deps,
      'default',
      'stepped',
      parts(body.subarray(outcome.at.size)),
      { waitMs: 0, stopBefore, resume: { record, at: outcome.at } },
    );
  }

  // Assess: three steps, one pending record, every segment opened and sent once, in order.
  assert.equal(outcome.state, 'pending');
  assert.deepEqual(
    points.map((p) => [p.segment, p.size]),
    [
      [3, 3 * MiB],
      [5, 5 * MiB],
    ],
  );
  assert.deepEqual(
    sends.flat().map((m) => m.segment),
    [0, 1, 2, 3, 4, 5],
  );
  assert.ok(sends.flat().every((m) => m.revision === outcome.revision));
  // The pending record and segment 0's tally are written together.
  const opened = log.filter((l) => !l.startsWith('send'));
  assert.deepEqual(opened.slice(0, 2).sort(), ['createPending', 'open 0']);
  assert.deepEqual(opened.slice(2), ['open 1', 'open 2', 'open 3', 'open 4', 'open 5', 'finish 6']);
  const record = await deps.ledger.get(outcome.revision);
  assert.equal(record?.segments, 6);
  assert.equal(record?.size, body.length);
  assert.equal(record?.sha256, createHash('sha256').update(body).digest('hex'));
  assert.ok(record);
  assert.ok((await readBack(deps.slices as MemorySliceStore, record, 6)).equals(body));
});

test('a step that stops exactly at the end leaves an empty rest: the next step sends nothing and finishes the summary', async () => {
  // Prepare: two whole segments; the first step stops after both.
  const { deps, sends, release } = recordingWriter();
  release();
  const body = randomBytes(2 * MiB);
  const first = await writeObjectInSteps(deps, 'default', 'exact', parts(body), {
    waitMs: 0,
    stopBefore: () => true,
  });
  assert.equal(first.state, 'paused');
  if (first.state !== 'paused') return;
  assert.deepEqual([first.at.segment, first.at.size], [2, 2 * MiB]);
  const record = await deps.ledger.get(first.revision);
  assert.ok(record);

  // Act
  const last = await writeObjectInSteps(deps, 'default', 'exact', parts(), {
    waitMs: 0,
    resume: { record, at: first.at },
  });

  // Assess: no empty third segment; the count and digest of the two.
  assert.equal(last.state, 'pending');
  assert.deepEqual(
    sends.flat().map((m) => m.segment),
    [0, 1],
  );
  const done = await deps.ledger.get(first.revision);
  assert.deepEqual([done?.segments, done?.size], [2, 2 * MiB]);
  assert.equal(done?.sha256, createHash('sha256').update(body).digest('hex'));
});

test('a write in steps does not scan as it writes: no scanner session outlives a step, and the commit task scans', async () => {
  const { deps, release } = recordingWriter();
  release();
  const { scanner, calls } = countingScanner(64 * MiB);
  deps.scan = scanner;
  const outcome = await writeObjectInSteps(deps, 'default', 'unscanned', parts(randomBytes(MiB)), {
    waitMs: 0,
    stopBefore: () => false,
  });
  assert.equal(outcome.state, 'pending');
  assert.equal(calls.bytes, 0);
  assert.equal((await deps.ledger.get(outcome.revision))?.scanned, undefined);
});

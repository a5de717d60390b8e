import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import { codecFor, formatSliceName, sliceNamesOf } from '../../../shared/codec/index.ts';
import { decodeStream, type FetchedSegment } from '../../../shared/codec/segment-stream.ts';
import {
  InvalidParameterError,
  UploadNotFoundError,
  UploadQuotaExceededError,
  UploadStateError,
} from '../../../shared/errors.ts';
import {
  ABORTED_BY_WRITER,
  abortUpload,
  attemptDispersal,
  completeUpload,
  createUpload,
  disperseUpload,
  getUpload,
  MAX_OPEN_UPLOADS,
  parseDispersalMessage,
  parsePartNumber,
  parseUploadId,
  putPart,
  UPLOAD_LIFETIME_MS,
  type UploadDeps,
} from '../../../shared/store/upload.ts';
import type { Upload } from '../../../shared/store/upload-record.ts';
import { DEFAULT_VAULT, planVault } from '../../../shared/store/vault.ts';
import type { WriterDeps } from '../../../shared/store/writer.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryLogger } from '../../helpers/logger.ts';
import {
  MemoryDispersalQueue,
  MemoryLedger,
  MemoryMulticast,
  MemoryObjectIndex,
  MemorySliceStore,
  MemoryStagingStore,
  MemoryUploadStore,
  MemoryVaultStore,
} from '../../helpers/memory/index.ts';

/** Uploads, staging and the dispersal queue in memory, with the `default` vault. */
function memoryDeps() {
  const clock = new ManualClock();
  const uploads = new MemoryUploadStore();
  const staging = new MemoryStagingStore(clock);
  const deps: UploadDeps = {
    vaults: new MemoryVaultStore([planVault(DEFAULT_VAULT, 6, [])]),
    uploads,
    staging,
    dispersal: new MemoryDispersalQueue(),
    clock,
  };
  return { deps, uploads, staging };
}

/**
 * An upload with part 1 staged, over staging whose store of part 2 waits for `release`, so a
 * test can race part 2 with another call.
 */
async function partTwoRace() {
  const { deps } = memoryDeps();
  const { staging, release } = partTwoHeld();
  const slow = { ...deps, staging };
  const { uploadId } = await createUpload(slow, 'default', { key: 'raced' }, 'ip:test');
  await putPart(slow, 'default', uploadId, 1, new Uint8Array(5));
  return { slow, staging, uploadId, release };
}

/** Staging whose store of part 2 waits for `release`. */
function partTwoHeld() {
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  class SlowStaging extends MemoryStagingStore {
    override async putPart(uploadId: string, part: number, body: Uint8Array) {
      if (part === 2) await gate;
      await super.putPart(uploadId, part, body);
    }
  }
  return { staging: new SlowStaging(), release };
}

/** A writer over memory ports, on the default vault. */
function writerOver(): WriterDeps {
  return {
    vaults: new MemoryVaultStore([planVault(DEFAULT_VAULT, 6, [])]),
    ledger: new MemoryLedger(),
    index: new MemoryObjectIndex(),
    slices: new MemorySliceStore(6),
    multicast: new MemoryMulticast(),
    clock: systemClock,
    pendingTimeoutMs: 60_000,
  };
}

function refusedOn(field: string, rule: RegExp) {
  return (err: unknown) =>
    err instanceof InvalidParameterError && err.field === field && rule.test(err.rule);
}

test('an upload is created for a valid key, and only from a body with nothing else', async () => {
  const { deps, uploads } = memoryDeps();
  const upload = await createUpload(deps, 'default', { key: 'big/20mib.bin' }, 'ip:test');
  assert.equal(upload.key, 'big/20mib.bin');
  assert.equal(upload.state, 'open');
  assert.deepEqual(await uploads.get(upload.uploadId), upload);

  const cases: Array<[unknown, string, RegExp]> = [
    [{}, 'key', /^must not be empty, got nothing$/],
    [{ key: '' }, 'key', /must not be empty/],
    [{ key: 'a/../b' }, 'key', /"\.\." path segments, got "a\/..\/b"$/],
    [{ key: 'x'.repeat(1025) }, 'key', /^must be at most 1024 bytes of UTF-8, got 1025$/],
    [
      { key: 'k', color: 'red' },
      'color',
      /^is not an upload field \(known: key, presigned, size, partSize, contentType, contentDisposition, meta\)$/,
    ],
    [{ key: 'k', size: 10 }, 'size', /^is taken only with "presigned": true$/],
    [{ key: 'k', presigned: true }, 'size', /^is required with "presigned": true/],
    [{ key: 'k', presigned: true, size: 10 }, 'presigned', /no presigned uploads/],
    [{ key: 'k', presigned: true, size: 10, partSize: 1024 }, 'partSize', /between 5242880/],
    [{ key: { toString: null } }, 'key', /got \{"toString":null\}$/],
    [null, 'body', /^must be a JSON object, got null$/],
    ['k', 'body', /JSON object/],
  ];
  for (const [body, field, rule] of cases) {
    await assert.rejects(
      createUpload(deps, 'default', body, 'ip:test'),
      refusedOn(field, rule),
      String(body),
    );
  }
  assert.equal(uploads.size, 1, 'nothing refused was stored');
});

test('an upload is created under its key in NFC', async () => {
  const { deps } = memoryDeps();
  const upload = await createUpload(deps, 'default', { key: 'cafe\u0301.txt' }, 'ip:test');
  assert.equal(upload.key, 'caf\u00e9.txt');
});

test('a part number in the path is plain decimal digits, 1..10000', () => {
  assert.equal(parsePartNumber('1'), 1);
  assert.equal(parsePartNumber('10000'), 10_000);
  for (const text of ['1e2', '0x1', ' 1', '01', '1.0', '0', '10001', '', undefined]) {
    assert.throws(
      () => parsePartNumber(text),
      refusedOn('part', /^must be an integer 1\.\.10000, in plain decimal digits, got /),
      String(text),
    );
  }
});

test('an upload id in the path is refused before any lookup when it cannot be one', () => {
  assert.equal(parseUploadId('u-nope'), 'u-nope');
  for (const text of ['u'.repeat(2100), '', 'u/1', undefined]) {
    assert.throws(() => parseUploadId(text), refusedOn('upload', /^must be 1 to 128 letters/));
  }
});

test('part numbers are integers 1..10000', async () => {
  const { deps, staging } = memoryDeps();
  const { uploadId } = await createUpload(deps, 'default', { key: 'k' }, 'ip:test');
  await putPart(deps, 'default', uploadId, 1, new Uint8Array(1));
  await putPart(deps, 'default', uploadId, 10_000, new Uint8Array(1));
  assert.deepEqual(
    (await staging.listParts(uploadId)).map((p) => p.part),
    [1, 10_000],
  );
  const cases: Array<[number, RegExp]> = [
    [0, /^must be an integer 1\.\.10000, got 0$/],
    [10_001, /got 10001$/],
    [1.5, /got 1\.5$/],
    // `Number('abc')` from the path.
    [Number.NaN, /got NaN$/],
  ];
  for (const [part, rule] of cases) {
    await assert.rejects(
      putPart(deps, 'default', uploadId, part, new Uint8Array(1)),
      refusedOn('part', rule),
      String(part),
    );
  }
});

test('a dispersal message names an upload, or is refused naming the field', () => {
  assert.deepEqual(parseDispersalMessage('{"uploadId":"u1abc"}'), { uploadId: 'u1abc' });
  const cases: Array<[string, string, RegExp]> = [
    ['u1abc', 'message', /^is not JSON, got "u1abc"$/],
    ['{}', 'message.uploadId', /^must be a non-empty string, got nothing$/],
    ['{"uploadId":""}', 'message.uploadId', /non-empty string/],
    ['{"uploadId":["u1"]}', 'message.uploadId', /got \["u1"\]$/],
    ['{"uploadId":{"toString":null}}', 'message.uploadId', /got \{"toString":null\}$/],
    ['{"uploadId":"u1","vault":"v"}', 'message.vault', /not a dispersal message field/],
    ['null', 'message', /JSON object, got null/],
  ];
  for (const [body, field, rule] of cases) {
    assert.throws(() => parseDispersalMessage(body), refusedOn(field, rule), body);
  }
});

test('a caller may hold MAX_OPEN_UPLOADS open; a completed one frees its place', async () => {
  // Prepare
  const { deps } = memoryDeps();
  const opened = [];
  for (let i = 0; i < MAX_OPEN_UPLOADS; i++)
    opened.push(await createUpload(deps, 'default', { key: `k${i}` }, 'ip:busy'));

  // Act and assess
  await assert.rejects(
    createUpload(deps, 'default', { key: 'one-more' }, 'ip:busy'),
    (err: Error) => err instanceof UploadQuotaExceededError && /ip:busy has 100/.test(err.message),
  );
  assert.ok(await createUpload(deps, 'default', { key: 'k' }, 'ip:other'), 'others are apart');
  const first = opened[0] as Upload;
  await putPart(deps, 'default', first.uploadId, 1, new Uint8Array(3));
  await completeUpload(deps, 'default', first.uploadId);
  assert.ok(await createUpload(deps, 'default', { key: 'now' }, 'ip:busy'));
  assert.equal(
    first.expiresAt,
    new Date(Date.parse(first.createdAt) + UPLOAD_LIFETIME_MS).toISOString(),
  );
});

test('a part stored while the upload is completed is refused, never silently left out', async () => {
  // Prepare: part 2's store waits until the completion has sealed the upload and listed parts.
  const { slow, uploadId, release } = await partTwoRace();

  // Act
  const late = putPart(slow, 'default', uploadId, 2, new Uint8Array(7));
  const completed = await completeUpload(slow, 'default', uploadId);
  release();

  // Assess: the upload is part 1 alone, and the client of part 2 hears so.
  assert.equal(completed.parts, 1);
  assert.equal(completed.size, 5);
  await assert.rejects(
    late,
    (err: Error) => err instanceof UploadStateError && /part 2/.test(err.message),
  );
});

test('completing with a part missing keeps the upload open; a completion cut short after the seal is finished by the next', async () => {
  // Prepare
  const { deps } = memoryDeps();
  const queued: string[] = [];
  const counting = {
    ...deps,
    dispersal: {
      enqueue: async (id: string) => void queued.push(id),
      redeliveryDelayMs: async () => 0,
    },
  };
  const { uploadId } = await createUpload(counting, 'default', { key: 'gap' }, 'ip:test');
  await putPart(counting, 'default', uploadId, 2, new Uint8Array(1));

  // Act and assess: part 1 is missing.
  await assert.rejects(completeUpload(counting, 'default', uploadId), /part 1 is missing/);
  assert.equal((await deps.uploads.get(uploadId))?.state, 'open');
  await putPart(counting, 'default', uploadId, 1, new Uint8Array(1));
  // A completion that died after sealing: dispersing, no counts, nothing queued.
  await deps.uploads.transition(uploadId, ['open'], { state: 'dispersing' });
  const done = await completeUpload(counting, 'default', uploadId);
  assert.deepEqual([done.state, done.parts, done.size], ['dispersing', 2, 2]);
  assert.deepEqual(queued, [uploadId]);
  await completeUpload(counting, 'default', uploadId);
  assert.deepEqual(queued, [uploadId], 'a complete upload is not queued twice');
});

test('a dispersal that fails on its last attempt ends the upload failed, with the reason; earlier attempts throw', async () => {
  // Prepare: the staged part is gone, so every attempt fails reading it.
  const { deps, staging } = memoryDeps();
  const { uploadId } = await createUpload(deps, 'default', { key: 'doomed' }, 'ip:test');
  await putPart(deps, 'default', uploadId, 1, new Uint8Array(4));
  await completeUpload(deps, 'default', uploadId);
  class LostPart extends MemoryStagingStore {
    override readPart(_uploadId: string, part: number): AsyncIterable<Uint8Array> {
      return {
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.reject(new Error(`part ${part} vanished from staging`)),
        }),
      };
    }
  }
  const log = new MemoryLogger();
  const failing = {
    ...deps,
    staging: Object.assign(new LostPart(), { listParts: staging.listParts.bind(staging) }),
    writer: writerOver(),
    log,
  };

  // Act and assess
  await assert.rejects(
    attemptDispersal(failing, { uploadId }, 0, { received: 1, max: 3 }),
    /vanished/,
  );
  assert.equal((await deps.uploads.get(uploadId))?.state, 'dispersing');
  await attemptDispersal(failing, { uploadId }, 0, { received: 3, max: 3 });
  const ended = await deps.uploads.get(uploadId);
  assert.equal(ended?.state, 'failed');
  assert.match(ended?.reason ?? '', /failed 3 times, last with Error: part 1 vanished/);
  assert.equal(log.lines[0]?.message, 'dispersal failed on its last attempt');
});

test('an aborted upload ends failed, its parts gone and its place freed; again answers the same; a completed one is refused', async () => {
  // Prepare: a caller at its quota, one of whose uploads has two parts; another completed.
  const { deps, staging } = memoryDeps();
  const opened = [];
  for (let i = 0; i < MAX_OPEN_UPLOADS; i++)
    opened.push(await createUpload(deps, 'default', { key: `k${i}` }, 'ip:busy'));
  const { uploadId } = opened[0] as Upload;
  await putPart(deps, 'default', uploadId, 1, new Uint8Array(5));
  await putPart(deps, 'default', uploadId, 2, new Uint8Array(7));
  const done = (opened[1] as Upload).uploadId;
  await putPart(deps, 'default', done, 1, new Uint8Array(3));
  await completeUpload(deps, 'default', done);

  // Act
  const first = await abortUpload(deps, 'default', uploadId);
  const again = await abortUpload(deps, 'default', uploadId);
  const completed = abortUpload(deps, 'default', done);
  const elsewhere = abortUpload(deps, 'other', uploadId);
  const partAfter = putPart(deps, 'default', uploadId, 3, new Uint8Array(1));
  const completeAfter = completeUpload(deps, 'default', uploadId);

  // Assess
  for (const answer of [first, again])
    assert.deepEqual([answer.state, answer.reason], ['failed', ABORTED_BY_WRITER]);
  assert.deepEqual(await staging.listParts(uploadId), [], 'its staged parts are gone');
  assert.ok(await createUpload(deps, 'default', { key: 'now' }, 'ip:busy'), 'its place is free');
  await assert.rejects(
    completed,
    (err: Error) =>
      err instanceof UploadStateError && /only an open upload can be aborted/.test(err.message),
  );
  await assert.rejects(elsewhere, UploadNotFoundError);
  await assert.rejects(partAfter, UploadStateError);
  assert.deepEqual(
    [(await completeAfter).state, (await completeAfter).reason],
    ['failed', ABORTED_BY_WRITER],
    'completing an aborted upload queues nothing',
  );
});

test('a part stored while the upload is aborted is refused and deleted, not left staged', async () => {
  // Prepare: part 2's store waits until the abort has deleted the parts it listed.
  const { slow, staging, uploadId, release } = await partTwoRace();

  // Act
  const late = putPart(slow, 'default', uploadId, 2, new Uint8Array(7));
  await abortUpload(slow, 'default', uploadId);
  release();

  // Assess
  await assert.rejects(
    late,
    (err: Error) => err instanceof UploadStateError && /aborted while part 2/.test(err.message),
  );
  assert.deepEqual(await staging.listParts(uploadId), []);
});

const MiB = 1024 * 1024;

/**
 * A staged upload of `size` random bytes in parts of `partSize` on a vault of 1 MiB segments,
 * completed and queued; a writer whose every slice PUT to unit 0 costs a second of the
 * uploads' clock, so a dispersal given a deadline reaches it within a few segments.
 */
async function stagedForSteps(size: number, partSize: number) {
  const clock = new ManualClock();
  const vault = planVault(
    { ...DEFAULT_VAULT, name: 'steps', segmentSize: MiB },
    6,
    [],
    new Date(clock.now()),
  );
  const uploads = new MemoryUploadStore();
  const staging = new MemoryStagingStore(clock);
  const queue = new MemoryDispersalQueue();
  const deps: UploadDeps = {
    vaults: new MemoryVaultStore([vault]),
    uploads,
    staging,
    dispersal: queue,
    clock,
  };
  const slices = new (class extends MemorySliceStore {
    readonly puts = new Map<string, number>();
    override async put(unit: number, key: string, body: Uint8Array, crc32: string) {
      this.puts.set(key, (this.puts.get(key) ?? 0) + 1);
      if (unit === 0) clock.advance(1000);
      await super.put(unit, key, body, crc32);
    }
  })(6);
  const writer: WriterDeps = {
    vaults: deps.vaults,
    ledger: new MemoryLedger(),
    index: new MemoryObjectIndex(),
    slices,
    multicast: new MemoryMulticast(),
    clock: systemClock,
    pendingTimeoutMs: 60_000,
  };
  const body = randomBytes(size);
  const { uploadId } = await createUpload(deps, 'steps', { key: 'big/steps.bin' }, 'ip:test');
  for (let at = 0, part = 1; at < size; at += partSize, part++)
    await putPart(deps, 'steps', uploadId, part, body.subarray(at, at + partSize));
  await completeUpload(deps, 'steps', uploadId);
  /** A step's deadline: a tenth of a second of segments, then a minute to finish. */
  const deadline = () => ({ at: clock.now() + 100, endsAt: clock.now() + 60_000 });
  return { deps: { ...deps, writer }, uploads, queue, slices, writer, body, uploadId, deadline };
}

/** The object the revision's slices decode to. */
async function dispersedBytes(writer: WriterDeps, revision: string): Promise<Buffer> {
  const record = await writer.ledger.get(revision);
  assert.ok(record?.segments !== undefined, `revision ${revision} has its count`);
  const codec = codecFor(record.readThreshold, record.units.length - record.readThreshold);
  const name = sliceNamesOf(record);
  async function* fetched(): AsyncGenerator<FetchedSegment> {
    for (let index = 0; index < (record?.segments ?? 0); index++) {
      const names = record?.units.map((_, pillar) => formatSliceName(name(index, pillar))) ?? [];
      const got = await Promise.all(
        names.map((n, pillar) => writer.slices.get(record?.units[pillar] ?? 0, n)),
      );
      yield { index, names, slices: got };
    }
  }
  return Buffer.concat(await Array.fromAsync(decodeStream(fetched(), codec)));
}

test('a dispersal past its deadline goes in steps: each records its progress and queues the next, one revision in all, each slice sent once, duplicate deliveries change nothing', async () => {
  // Prepare: 5.2 MiB in parts of 1.5 MiB (parts and segments do not line up).
  const { deps, uploads, queue, slices, writer, body, uploadId, deadline } = await stagedForSteps(
    5.2 * MiB,
    1.5 * MiB,
  );

  // Act: deliver every queued message twice, the copy after the first is done.
  const steps: number[] = [];
  const revisions = new Set<string>();
  const dispersed: number[] = [];
  for (let i = 0; i < queue.messages.length; i++) {
    const message = queue.messages[i] as { uploadId: string; step?: number };
    for (let copy = 0; copy < 2; copy++) {
      const outcome = await disperseUpload(deps, message, 0, deadline());
      if (outcome?.state === 'paused') {
        steps.push(message.step ?? 0);
        revisions.add(outcome.revision);
        const view = await getUpload(deps, 'steps', uploadId);
        assert.equal(view.state, 'dispersing');
        assert.equal('progress' in view, false, 'the API answers no saved hash state');
        dispersed.push(view.dispersed ?? -1);
      } else if (outcome) revisions.add(outcome.revision);
    }
    assert.ok(i < 50, 'the dispersal ends');
  }

  // Assess: several steps, each once, growing; one revision holding the staged bytes.
  assert.ok(steps.length >= 3, `steps ${steps.join(',')}`);
  assert.deepEqual(
    steps,
    steps.map((_, i) => i),
  );
  assert.deepEqual(
    dispersed,
    [...dispersed].sort((a, b) => a - b),
  );
  assert.ok(
    dispersed.every((d) => d > 0 && d < body.length && d % MiB === 0),
    // A step never stops at the very end, which would leave its next step nothing to send.
    dispersed.join(),
  );
  assert.equal(revisions.size, 1);
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending', 'no committer here: the write is left to commit');
  const [revision] = revisions;
  assert.equal(ended?.revision, revision);
  const record = await writer.ledger.get(revision as string);
  assert.deepEqual([record?.segments, record?.size], [6, body.length]);
  assert.equal(record?.sha256, createHash('sha256').update(body).digest('hex'));
  assert.ok((await dispersedBytes(writer, revision as string)).equals(body));
  assert.equal(slices.puts.size, 36);
  assert.ok([...slices.puts.values()].every((n) => n === 1));
});

test('a step that fails part-way is delivered again and goes on from the last recorded step, to the same bytes', async () => {
  // Prepare: the second step's first read of staging fails once.
  const { deps, uploads, queue, writer, body, uploadId, deadline } = await stagedForSteps(
    4.5 * MiB,
    2 * MiB,
  );
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  assert.equal(first?.state, 'paused');
  let failOnce = true;
  const readPart = deps.staging.readPart.bind(deps.staging);
  deps.staging.readPart = (id, part, from) => {
    if (!failOnce) return readPart(id, part, from);
    failOnce = false;
    return (async function* () {
      for await (const chunk of readPart(id, part, from)) yield chunk.subarray(0, 1.5 * MiB);
      throw new Error('staging reset the connection');
    })();
  };

  // Act: the failed delivery, then the same message again, then whatever is queued.
  const step1 = queue.messages[1] as { uploadId: string; step?: number };
  assert.deepEqual(step1, { uploadId, step: 1 });
  // This attempt has time to read on past the first segment it was given.
  const long = { at: deps.clock.now() + 3_600_000, endsAt: deps.clock.now() + 7_200_000 };
  await assert.rejects(disperseUpload(deps, step1, 0, long), /reset the connection/);
  assert.equal(
    (await uploads.get(uploadId))?.progress?.step,
    1,
    'the failed step recorded nothing',
  );
  for (let i = 0; i < queue.messages.length; i++)
    await disperseUpload(deps, queue.messages[i] as { uploadId: string }, 0, deadline());

  // Assess
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending');
  assert.equal(ended?.revision, first?.revision);
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
  const record = await writer.ledger.get(ended?.revision as string);
  assert.equal(record?.sha256, createHash('sha256').update(body).digest('hex'));
});

test('a step whose revision the janitor failed meanwhile begins again with a new revision, from the first byte', async () => {
  // Prepare: one step done, then its revision failed (a redelivery that came after the timeout).
  const { deps, uploads, queue, writer, body, uploadId, deadline } = await stagedForSteps(
    3.5 * MiB,
    MiB,
  );
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  assert.equal(first?.state, 'paused');
  await writer.ledger.fail(first?.revision as string, 'timed out', 0);

  // Act
  for (let i = 0; i < queue.messages.length; i++)
    await disperseUpload(deps, queue.messages[i] as { uploadId: string }, 0, deadline());

  // Assess
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending');
  assert.notEqual(ended?.revision, first?.revision);
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
});

test('a dispersal that surely fits its invocation goes at once: no step recorded, none queued', async () => {
  const { deps, uploads, queue, uploadId } = await stagedForSteps(2.5 * MiB, MiB);
  const outcome = await disperseUpload(deps, { uploadId }, 0, {
    at: deps.clock.now() + 60_000,
    endsAt: deps.clock.now() + 120_000,
  });
  assert.equal(outcome?.state, 'pending');
  assert.equal((await uploads.get(uploadId))?.progress, undefined);
  assert.deepEqual(queue.messages, [{ uploadId }]);
});

test('a dispersal message names its upload and, past the first, its step', () => {
  assert.deepEqual(parseDispersalMessage('{"uploadId":"u1","step":3}'), {
    uploadId: 'u1',
    step: 3,
  });
  assert.throws(
    () => parseDispersalMessage('{"uploadId":"u1","step":-1}'),
    (err: unknown) => err instanceof InvalidParameterError && err.field === 'message.step',
  );
});

test('a step cut off between recording its progress and queuing the next: its redelivery queues the next step, once', async () => {
  // Prepare: the queue refuses step 1's message once, as a crash right after `advance` would.
  const { deps, uploads, queue, writer, body, uploadId, deadline } = await stagedForSteps(
    3.5 * MiB,
    MiB,
  );
  const enqueue = queue.enqueue.bind(queue);
  let refused = false;
  queue.enqueue = async (id, step) => {
    if (step === 1 && !refused) {
      refused = true;
      throw new Error('the disperser was cut off');
    }
    await enqueue(id, step);
  };
  await assert.rejects(disperseUpload(deps, { uploadId }, 0, deadline()), /cut off/);
  assert.equal((await uploads.get(uploadId))?.progress?.queued, undefined);

  // Act: step 0 comes again, and then again once step 1 is queued.
  await disperseUpload(deps, { uploadId }, 0, deadline());
  await disperseUpload(deps, { uploadId }, 0, deadline());
  for (let i = 1; i < queue.messages.length; i++)
    await disperseUpload(deps, queue.messages[i] as { uploadId: string }, 0, deadline());

  // Assess: step 1 queued once, and the dispersal ended with the staged bytes.
  assert.equal(queue.messages.filter((m) => m.step === 1).length, 1);
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending');
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
});

test('a dispersal whose revision was failed for its age (12 h pending) ends the upload failed, saying so, rather than beginning again', async () => {
  // Prepare: one step done; then its revision failed, and the writer's clock 12 h on.
  const { deps, uploads, queue, writer, uploadId, deadline } = await stagedForSteps(3.5 * MiB, MiB);
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  assert.equal(first?.state, 'paused');
  await writer.ledger.fail(first?.revision as string, 'timed out', 0);
  writer.clock = { ...systemClock, now: () => Date.now() + 12 * 3_600_000 };

  // Act
  const outcome = await disperseUpload(
    deps,
    queue.messages[1] as { uploadId: string },
    0,
    deadline(),
  );

  // Assess
  assert.equal(outcome, undefined);
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'failed');
  assert.equal(ended?.revision, first?.revision);
  assert.match(
    ended?.reason ?? '',
    /^the dispersal took longer than a write may stay pending \(12 h\), with \d+ bytes dispersed$/,
  );
  assert.equal(queue.messages.length, 2, 'no step queued after');
});

test('a step that stops leaves its revision pending past the redelivery of its next step, so a failed step resumes rather than begins again', async () => {
  // Prepare: one step done.
  const { deps, queue, writer, uploadId, deadline } = await stagedForSteps(3.5 * MiB, MiB);
  const started = Date.now();
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  assert.equal(first?.state, 'paused');
  const revision = first?.revision as string;

  // Act: the janitor looks when the next step's redelivery would come (90 minutes on).
  const dueAt = (await writer.ledger.get(revision))?.dueAt ?? 0;
  const dueThen = await writer.ledger.due(started + queue.redeliveryMs, 10);

  // Assess
  assert.ok(
    dueAt >= started + queue.redeliveryMs + writer.pendingTimeoutMs,
    `due ${(dueAt - started) / 60_000} minutes on`,
  );
  assert.deepEqual(dueThen, []);
});

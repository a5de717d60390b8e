import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import {
  InvalidParameterError,
  UploadNotFoundError,
  UploadQuotaExceededError,
  UploadStateError,
} from '../../../shared/errors.ts';
import { attemptDispersal, parseDispersalMessage } from '../../../shared/store/staged-dispersal.ts';
import {
  ABORTED_BY_WRITER,
  abortUpload,
  completeUpload,
  createUpload,
  MAX_OPEN_UPLOADS,
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
      follow: async () => assert.fail('no upload here is left pending'),
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

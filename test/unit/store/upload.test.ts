import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import {
  createUpload,
  parseDispersalMessage,
  parsePartNumber,
  parseUploadId,
  putPart,
  type UploadDeps,
} from '../../../shared/store/upload.ts';
import { DEFAULT_VAULT, planVault } from '../../../shared/store/vault.ts';
import { ManualClock } from '../../helpers/clock.ts';
import {
  MemoryDispersalQueue,
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

function refusedOn(field: string, rule: RegExp) {
  return (err: unknown) =>
    err instanceof InvalidParameterError && err.field === field && rule.test(err.rule);
}

test('an upload is created for a valid key, and only from a body with nothing else', async () => {
  const { deps, uploads } = memoryDeps();
  const upload = await createUpload(deps, 'default', { key: 'big/20mib.bin' });
  assert.equal(upload.key, 'big/20mib.bin');
  assert.equal(upload.state, 'open');
  assert.deepEqual(await uploads.get(upload.uploadId), upload);

  const cases: Array<[unknown, string, RegExp]> = [
    [{}, 'key', /^must not be empty, got nothing$/],
    [{ key: '' }, 'key', /must not be empty/],
    [{ key: 'a/../b' }, 'key', /"\.\." path segments, got "a\/..\/b"$/],
    [{ key: 'x'.repeat(1025) }, 'key', /^must be at most 1024 bytes of UTF-8, got 1025$/],
    [{ key: 'k', size: 10 }, 'size', /^is not an upload field \(known: key\)$/],
    [{ key: { toString: null } }, 'key', /got \{"toString":null\}$/],
    [null, 'body', /^must be a JSON object, got null$/],
    ['k', 'body', /JSON object/],
  ];
  for (const [body, field, rule] of cases) {
    await assert.rejects(createUpload(deps, 'default', body), refusedOn(field, rule), String(body));
  }
  assert.equal(uploads.size, 1, 'nothing refused was stored');
});

test('an upload is created under its key in NFC', async () => {
  const { deps } = memoryDeps();
  const upload = await createUpload(deps, 'default', { key: 'cafe\u0301.txt' });
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
  const { uploadId } = await createUpload(deps, 'default', { key: 'k' });
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

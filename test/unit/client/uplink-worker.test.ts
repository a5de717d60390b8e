import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResumeMismatchError } from '../../../client/dispersal-state.ts';
import { DsnApiError } from '../../../client/dsn-client.ts';
import { UnitsUnreachableError } from '../../../client/slice-http.ts';
import { DsnUnreachableError } from '../../../client/transport.ts';
import { receivedError, sendableError } from '../../../client/uplink-worker-protocol.ts';
import { readAtOf } from '../../../client/web-chunks.ts';

/** An error as the page gets it from its worker: sent, structured-cloned, rebuilt. */
const across = (err: unknown) => receivedError(structuredClone(sendableError(err)));

test("a worker's errors reach the page as the classes a caller catches, with what they carry", () => {
  const api = across(
    new DsnApiError(503, 'WriteThresholdNotMet', 'segment 3: 4 of 5 units', { segment: 3 }),
  );
  assert.ok(api instanceof DsnApiError);
  assert.deepEqual(
    { status: api.status, code: api.code, message: api.message, details: api.details },
    {
      status: 503,
      code: 'WriteThresholdNotMet',
      message: 'segment 3: 4 of 5 units',
      details: { segment: 3 },
    },
  );

  const original = new UnitsUnreachableError(new TypeError('Failed to fetch'));
  const units = across(original);
  assert.ok(units instanceof UnitsUnreachableError);
  assert.equal(units.message, original.message);

  const coded = new UnitsUnreachableError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }));
  assert.equal(across(coded).message, coded.message);

  const down = new DsnUnreachableError('https://api.example', new Error('connect ETIMEDOUT'));
  const away = across(down);
  assert.ok(away instanceof DsnUnreachableError);
  assert.equal(away.message, down.message);
  assert.equal(away.endpoint, 'https://api.example');

  const other = across(new RangeError('bad size'));
  assert.equal(other.name, 'RangeError');
  assert.equal(other.message, 'bad size');
  assert.equal(across('a string thrown').message, 'a string thrown');
});

test("a resume's mismatch reaches the page as ResumeMismatchError, with its revision and segment", () => {
  const original = new ResumeMismatchError('r-1', 3);
  const got = across(original);
  assert.ok(got instanceof ResumeMismatchError);
  assert.deepEqual([got.revision, got.segment, got.message], ['r-1', 3, original.message]);
});

test("a file's positional read gives the bytes at the offset asked, fewer at its end", async () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_v, i) => i % 251);
  const readAt = readAtOf(new Blob([bytes.subarray(0, 400), bytes.subarray(400)]));
  const into = new Uint8Array(300);
  assert.equal(await readAt(350, into), 300);
  assert.deepEqual(into, bytes.subarray(350, 650));
  assert.equal(await readAt(900, into), 100);
  assert.deepEqual(into.subarray(0, 100), bytes.subarray(900));
  assert.equal(await readAt(1000, into), 0);
});

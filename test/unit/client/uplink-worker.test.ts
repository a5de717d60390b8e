import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DsnApiError } from '../../../client/dsn-client.ts';
import { UnitsUnreachableError } from '../../../client/slice-http.ts';
import { DsnUnreachableError } from '../../../client/transport.ts';
import { receivedError, sendableError } from '../../../client/uplink-worker-protocol.ts';

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

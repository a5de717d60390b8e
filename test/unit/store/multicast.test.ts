import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { parseStatusMessage, parseUnitMessage } from '../../../shared/store/multicast.ts';
import type { UnitStatus } from '../../../shared/store/revision.ts';

const status = (segment: number, ok = true): UnitStatus => ({
  vault: 'default',
  revision: '00mwzq0jzn82050b176c0d6f34',
  segment,
  pillar: 3,
  unit: 3,
  ok,
});

test('a status message carries every status of one unit invocation', () => {
  const statuses = [status(0), status(1, false)];
  assert.deepEqual(parseStatusMessage(JSON.stringify({ v: 1, statuses })), statuses);
});

test('a bare status, as units sent before they batched, is still one status', () => {
  assert.deepEqual(parseStatusMessage(JSON.stringify(status(4))), [status(4)]);
});

test('a malformed status message is refused naming the field and the rule', () => {
  const bad = (body: unknown, field: RegExp) =>
    assert.throws(() => parseStatusMessage(JSON.stringify(body)), field);
  bad({ v: 1, statuses: [] }, /status\.statuses: must be a non-empty list/);
  bad({ v: 2, statuses: [status(0)] }, /status\.v: unknown message version 2/);
  bad(
    { v: 1, statuses: [status(0), { ...status(1), pillar: 300 }] },
    /status\.statuses\[1\]\.pillar/,
  );
  bad(
    { v: 1, statuses: [{ ...status(0), ok: 'yes' }] },
    /status\.statuses\[0\]\.ok: must be a boolean/,
  );
  bad({ ...status(0), revision: '' }, /status\.revision: must be a non-empty string/);
  assert.throws(() => parseStatusMessage('{'), /status: is not JSON/);
});

test('a status whose reason is not a string is refused, never a crash', () => {
  // `String({toString: null})` throws: the reason must be checked, not converted.
  const body = JSON.stringify({ ...status(0, false), reason: { toString: null } });
  assert.throws(
    () => parseStatusMessage(body),
    (err: unknown) =>
      err instanceof InvalidParameterError &&
      err.field === 'status.reason' &&
      err.rule === 'must be a string, got {"toString":null}',
  );
  const withReason = { ...status(0, false), reason: 'unit 3 refused: slow down' };
  assert.deepEqual(parseStatusMessage(JSON.stringify(withReason)), [withReason]);
});

test('a status message with a key no unit writes is refused naming the key', () => {
  const refusedOn = (body: unknown, field: string, rule: RegExp) =>
    assert.throws(
      () => parseStatusMessage(JSON.stringify(body)),
      (err: unknown) =>
        err instanceof InvalidParameterError && err.field === field && rule.test(err.rule),
      JSON.stringify(body),
    );
  refusedOn(
    { v: 1, statuses: [status(0)], extra: 1 },
    'status.extra',
    /not a status message field/,
  );
  refusedOn({ ...status(0), weight: 2 }, 'status.weight', /not a unit status field/);
  refusedOn(
    { v: 1, statuses: [{ ...status(0), ok: undefined }] },
    'status.statuses[0].ok',
    /boolean, got nothing/,
  );
  refusedOn({ v: 1, statuses: 'all' }, 'status.statuses', /non-empty list, got "all"/);
  refusedOn(null, 'status', /JSON object, got null/);
  refusedOn([status(0)], 'status', /JSON object/);
});

const slice = {
  pillar: 2,
  unit: 5,
  name: 'default/AAAAAAAAAAAAAAAAAAAAAA/00mwzq0jzn82050b176c0d6f34/0000000000/002',
  crc32: 'AAAAAA==',
  size: 10,
  data: 'AAAAAAAAAAAAAA==',
};
const unitMessage = {
  v: 1,
  vault: 'default',
  address: 'vault/default',
  revision: '00mwzq0jzn82050b176c0d6f34',
  segment: 0,
  slices: [slice],
};

test('a unit message as the writer sends it parses to itself', () => {
  assert.deepEqual(parseUnitMessage(JSON.stringify(unitMessage)), unitMessage);
  // A slice the writer could not place travels without data, saying why.
  const { data: _data, ...placed } = slice;
  const unplaced = { ...placed, missing: 'TimeoutError: unit 5 did not answer' };
  const parsed = parseUnitMessage(JSON.stringify({ ...unitMessage, slices: [unplaced] }));
  assert.deepEqual(parsed.slices, [unplaced]);
});

test('a malformed unit message is refused naming the field and the rule', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['nope', 'message', /^is not JSON, got "nope"$/],
    ['[1]', 'message', /JSON object/],
    [JSON.stringify({ ...unitMessage, v: 2 }), 'message.v', /^unknown message version 2$/],
    [JSON.stringify({ ...unitMessage, v: '1' }), 'message.v', /^unknown message version "1"$/],
    [JSON.stringify({ ...unitMessage, hops: 3 }), 'message.hops', /not a unit message field/],
    [
      JSON.stringify({ ...unitMessage, segment: -1 }),
      'message.segment',
      /between 0 and 9999999999, got -1/,
    ],
    [JSON.stringify({ ...unitMessage, slices: {} }), 'message.slices', /must be a list/],
    [
      JSON.stringify({ ...unitMessage, slices: [{ ...slice, pillar: 256 }] }),
      'message.slices[0].pillar',
      /between 0 and 255, got 256/,
    ],
    [
      JSON.stringify({ ...unitMessage, slices: [{ ...slice, crc: 'x' }] }),
      'message.slices[0].crc',
      /not a slice envelope field/,
    ],
    [
      JSON.stringify({ ...unitMessage, slices: [{ ...slice, name: 'not/a/slice' }] }),
      'message.slices[0].name',
      /^must be a slice name \(.+\), got "not\/a\/slice"$/,
    ],
    [
      JSON.stringify({ ...unitMessage, slices: [{ ...slice, data: { toString: null } }] }),
      'message.slices[0].data',
      /non-empty string, got \{"toString":null\}/,
    ],
    [
      JSON.stringify({ ...unitMessage, vault: { toString: null } }),
      'message.vault',
      /non-empty string/,
    ],
  ];
  for (const [body, field, rule] of cases) {
    assert.throws(
      () => parseUnitMessage(body),
      (err: unknown) =>
        err instanceof InvalidParameterError && err.field === field && rule.test(err.rule),
      body,
    );
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { parseChaos, parseFault } from '../../../shared/store/fault.ts';

function refusedOn(field: string) {
  return (err: unknown) => err instanceof InvalidParameterError && err.field === field;
}

test('a chaos request takes a slice count, and optionally a vault, a key and a seed', () => {
  assert.deepEqual(parseChaos({ slices: 3 }), { slices: 3 });
  assert.deepEqual(parseChaos({ slices: 10_000, vault: 'photos', seed: 0 }), {
    slices: 10_000,
    vault: 'photos',
    seed: 0,
  });
  assert.deepEqual(parseChaos({ slices: 1, vault: 'photos', key: '2026/a.jpg' }), {
    slices: 1,
    vault: 'photos',
    key: '2026/a.jpg',
  });
});

test('a chaos request with a bad field is refused naming that field', () => {
  for (const slices of [0, 10_001, 1.5, '3', undefined]) {
    assert.throws(() => parseChaos({ slices }), refusedOn('slices'), String(slices));
  }
  assert.throws(() => parseChaos({ slices: 1, vault: 'No' }), refusedOn('vault'));
  for (const key of ['', 7]) {
    assert.throws(() => parseChaos({ slices: 1, key }), refusedOn('key'), String(key));
  }
  for (const seed of [-1, 2 ** 32, 0.5, 'x']) {
    assert.throws(() => parseChaos({ slices: 1, seed }), refusedOn('seed'), String(seed));
  }
  assert.throws(() => parseChaos({ slices: 1, units: [1] }), refusedOn('units'));
  assert.throws(() => parseChaos([]), refusedOn('body'));
});

test('a fault names its mode; slow needs a delay', () => {
  assert.deepEqual(parseFault(2, { mode: 'read-fail' }), { unit: 2, mode: 'read-fail' });
  assert.deepEqual(parseFault(2, { mode: 'slow', delayMs: 50 }), {
    unit: 2,
    mode: 'slow',
    delayMs: 50,
  });
  assert.throws(() => parseFault(2, { mode: 'melted' }), refusedOn('mode'));
  assert.throws(() => parseFault(2, { mode: 'slow' }), refusedOn('delayMs'));
});

test('a fault request is refused naming the field: unknown keys, wrong types, odd values', () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [
      { mode: 'melted' },
      'mode',
      /^must be one of write-fail, read-fail, slow, corrupt, got "melted"$/,
    ],
    [{ mode: 'slow', delayMs: 60_001 }, 'delayMs', /1\.\.60000 for mode slow, got 60001$/],
    [{ mode: 'slow', delayMs: '50' }, 'delayMs', /got "50"$/],
    [{ mode: 'read-fail', delayMs: 50 }, 'delayMs', /^is only for mode slow, got 50$/],
    [{ mode: 'corrupt', units: [1] }, 'units', /not a fault field \(known: mode, delayMs\)/],
    [{ mode: { toString: null } }, 'mode', /got \{"toString":null\}$/],
    [undefined, 'mode', /must be one of/],
    ['slow', 'body', /JSON object/],
  ];
  for (const [body, field, rule] of cases) {
    assert.throws(
      () => parseFault(1, body),
      (err: unknown) =>
        err instanceof InvalidParameterError && err.field === field && rule.test(err.rule),
      JSON.stringify(body),
    );
  }
});

test('a chaos request with an odd value is refused, never a crash', () => {
  assert.throws(
    () => parseChaos({ slices: { toString: null } }),
    (err: unknown) =>
      err instanceof InvalidParameterError &&
      err.message === 'slices: must be an integer 1..10000, got {"toString":null}',
  );
  assert.throws(
    () => parseChaos({ slices: 1, vault: { toString: null } }),
    (err: unknown) =>
      err instanceof InvalidParameterError && /^vault: must be 3-63/.test(err.message),
  );
});

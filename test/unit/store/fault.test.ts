import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { parseChaos, parseFault } from '../../../shared/store/fault.ts';

function refusedOn(field: string) {
  return (err: unknown) => err instanceof InvalidParameterError && err.field === field;
}

test('a chaos request takes a slice count, and optionally a vault and a seed', () => {
  assert.deepEqual(parseChaos({ slices: 3 }), { slices: 3 });
  assert.deepEqual(parseChaos({ slices: 10_000, vault: 'photos', seed: 0 }), {
    slices: 10_000,
    vault: 'photos',
    seed: 0,
  });
});

test('a chaos request with a bad field is refused naming that field', () => {
  for (const slices of [0, 10_001, 1.5, '3', undefined]) {
    assert.throws(() => parseChaos({ slices }), refusedOn('slices'), String(slices));
  }
  assert.throws(() => parseChaos({ slices: 1, vault: 'No' }), refusedOn('vault'));
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

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { generate } from '../../../infra/build-wasm.ts';

test('the embedded kernel is exactly what kernel.wat assembles to', async () => {
  const committed = await readFile(
    new URL('../../../shared/codec/kernel-wasm.ts', import.meta.url),
    'utf8',
  );
  assert.equal(committed, await generate(), 'run node infra/build-wasm.ts and commit the result');
});

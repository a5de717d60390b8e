import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHealth } from '../../shared/health.ts';

test('health is ok when every probe answers, and degraded with the failing probe named', async () => {
  // Prepare
  const ok = { name: 'table:t', run: async () => {} };
  const failing = {
    name: 'unit-3:b3',
    run: async () => {
      throw Object.assign(new Error('no such bucket'), { name: 'NotFound' });
    },
  };
  const silent = { name: 'topic:slow', run: () => new Promise<void>(() => {}) };

  // Act
  const healthy = await checkHealth('dev', [ok]);
  const degraded = await checkHealth('dev', [ok, failing, silent], 50);

  // Assess
  assert.equal(healthy.status, 'ok');
  assert.equal(degraded.status, 'degraded');
  assert.deepEqual(
    degraded.checks.map((c) => [c.name, c.ok, c.error]),
    [
      ['table:t', true, undefined],
      ['unit-3:b3', false, 'NotFound: no such bucket'],
      ['topic:slow', false, 'Error: no answer within 50 ms'],
    ],
  );
});

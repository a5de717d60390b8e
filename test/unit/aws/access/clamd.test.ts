import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClamdReply } from '../../../../shared/aws/access/clamd.ts';

test('clamd answers become verdicts: OK clean, FOUND infected, its size limit skipped', () => {
  assert.deepEqual(parseClamdReply('stream: OK\0'), { state: 'clean' });
  assert.deepEqual(parseClamdReply('stream: Eicar-Test-Signature FOUND\0'), {
    state: 'infected',
    signature: 'Eicar-Test-Signature',
  });
  assert.deepEqual(parseClamdReply('INSTREAM size limit exceeded. ERROR\0'), {
    state: 'skipped',
    reason: 'clamd: INSTREAM size limit exceeded. ERROR',
  });
});

test('any other clamd answer is an error naming it, so the scan runs again later', () => {
  assert.throws(() => parseClamdReply('UNKNOWN COMMAND\0'), /clamd answered "UNKNOWN COMMAND"/);
  assert.throws(() => parseClamdReply(''), /clamd answered ""/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watchEnvironmentProblem } from '../../../bin/commands/watch.ts';
import { readableEvent } from '../../../bin/commands/watch-runner.ts';

test("a watch's readable line: time, type, vault/key, size when there is one, sequence and revision", () => {
  const committed = JSON.stringify({
    id: 'e1',
    type: 'object.committed',
    vault: 'photos',
    key: '2026/a.jpg',
    revision: 'r7',
    size: 123,
    sha256: 'ab',
    sequence: 7,
    time: '2026-12-01T12:00:00.000Z',
    listener: 'l1',
    matched: '2026/',
  });
  const deleted = JSON.stringify({
    type: 'object.deleted',
    vault: 'photos',
    key: '2026/a.jpg',
    revision: 'r8',
    sequence: 8,
    time: '2026-12-01T12:00:01.000Z',
  });
  assert.equal(
    readableEvent(committed),
    '2026-12-01T12:00:00.000Z  committed  photos/2026/a.jpg  123 B  seq 7  rev r7',
  );
  assert.equal(
    readableEvent(deleted),
    '2026-12-01T12:00:01.000Z  deleted    photos/2026/a.jpg  seq 8  rev r8',
  );
  assert.equal(readableEvent('not json'), 'not json', 'shown as it came');
});

test('a watch on the local cloud with no SQS endpoint set is refused before it makes a queue anywhere', () => {
  assert.match(
    watchEnvironmentProblem('http://127.0.0.1:3000', {}) ?? '',
    /no SQS endpoint is set: export the AWS_\* lines/,
  );
  assert.ok(watchEnvironmentProblem('http://localhost:3000', { AWS_REGION: 'us-east-1' }));
  assert.equal(
    watchEnvironmentProblem('http://127.0.0.1:3000', {
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:4566',
    }),
    undefined,
  );
  assert.equal(watchEnvironmentProblem('https://dsn.example.com', {}), undefined, 'AWS itself');
});

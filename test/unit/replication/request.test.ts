/** `POST /replications` bodies: each bad field named, with its rule. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { parseJobRequest } from '../../../shared/replication/job.ts';
import {
  bytesOfParts,
  MAX_COPY_PARTS,
  partCount,
  partSizeFor,
  taskId,
} from '../../../shared/replication/task.ts';

test('a request names a vault or a bucket on each side; a bad field is named', () => {
  assert.deepEqual(
    parseJobRequest({
      source: { vault: 'photos', prefix: '2026/' },
      destination: { bucket: 'offsite', endpoint: 'https://s3.example.com' },
    }),
    {
      source: { vault: 'photos', prefix: '2026/' },
      destination: { bucket: 'offsite', endpoint: 'https://s3.example.com', prefix: '' },
      deleteExtraneous: false,
      rebalance: true,
    },
  );
  const cases: Array<[unknown, RegExp]> = [
    [{ destination: { vault: 'photos' } }, /^source/],
    [{ source: { vault: 'photos' }, destination: { bucket: 'A' } }, /^destination\.bucket/],
    [
      {
        source: { vault: 'photos' },
        destination: { bucket: 'ok-bucket', endpoint: 'http://10.0.0.1' },
      },
      /^destination\.endpoint/,
    ],
    [
      { source: { vault: 'photos', credentials: 'x' }, destination: { vault: 'b' } },
      /^source\.credentials: is not a vault side field/,
    ],
    [
      { source: { vault: 'photos' }, destination: { vault: 'b' }, deleteExtraneous: 'yes' },
      /^deleteExtraneous/,
    ],
    // A secret the functions may not read: outside the prefix their grant covers.
    [
      { source: { vault: 'photos' }, destination: { bucket: 'offsite', secret: 'prod/db' } },
      /^destination\.secret: must name a Secrets Manager secret under dsn\/replication\//,
    ],
    [
      {
        source: { vault: 'photos' },
        destination: { bucket: 'offsite', secret: 'dsn/replication/a b' },
      },
      /^destination\.secret/,
    ],
    // Credentials live in a secret, never in the request.
    [
      { source: { vault: 'photos' }, destination: { bucket: 'offsite', accessKeyId: 'AKIA' } },
      /^destination\.accessKeyId: is not a bucket side field/,
    ],
  ];
  const named = {
    bucket: 'offsite',
    endpoint: 'https://s3.example.com',
    secret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:dsn/replication/offsite-AbC123',
  };
  assert.deepEqual(
    parseJobRequest({ source: { vault: 'photos' }, destination: named }).destination,
    { ...named, prefix: '' },
  );
  for (const [body, rule] of cases) {
    assert.throws(
      () => parseJobRequest(body),
      (err: Error) => err instanceof InvalidParameterError && rule.test(err.message),
      JSON.stringify(body),
    );
  }
});

test('task ids come from kind and key; objects above the part size go in parts', () => {
  assert.equal(taskId('copy', 'a'), taskId('copy', 'a'));
  assert.notEqual(taskId('copy', 'a'), taskId('delete', 'a'));
  assert.equal(partCount(8, 8), 0);
  assert.equal(partCount(9, 8), 2);
  assert.equal(partCount(16, 8), 2);
});

test('an object that would take more than 10,000 parts of the job goes in larger parts, 10,000 at most, in whole MiB', () => {
  const MiB = 1024 * 1024;
  const part = 8 * MiB;
  // 78.125 GiB: exactly 10,000 parts of 8 MiB; a byte more needs larger parts.
  const fits = 10_000 * part;
  assert.equal(partSizeFor(part, fits), part);
  assert.equal(partCount(fits, part), 10_000);
  assert.equal(partSizeFor(part, fits + 1), 9 * MiB);
  assert.ok(partCount(fits + 1, part) <= MAX_COPY_PARTS);
  // The largest object S3 keeps, 5 TiB.
  const tib5 = 5 * 1024 * 1024 * MiB;
  assert.ok(partCount(tib5, part) <= MAX_COPY_PARTS);
  assert.equal(partSizeFor(part, tib5) % MiB, 0);
  // Bytes of the parts done follow the same part size, up to the size.
  assert.equal(bytesOfParts(3, part, fits + 1), 27 * MiB);
  assert.equal(bytesOfParts(10_000, part, fits + 1), fits + 1);
});

test('a destination that shares keys with the source is refused, saying why; distinct prefixes or stores are taken', () => {
  // Prepare
  const refused: Array<[unknown, RegExp]> = [
    // The case that deleted source objects: a source under the destination, with --delete.
    [
      {
        source: { vault: 'photos', prefix: 'img/' },
        destination: { vault: 'photos' },
        deleteExtraneous: true,
      },
      /^destination: must not overlap the source: photos\/ and photos\/img\/ share keys, so the job would copy what it writes and delete source objects as extraneous/,
    ],
    [
      { source: { vault: 'photos' }, destination: { vault: 'photos', prefix: 'backup/' } },
      /^destination: must not overlap the source/,
    ],
    [
      {
        source: { bucket: 'same-bucket', prefix: 'a/' },
        destination: { bucket: 'same-bucket', prefix: 'a/b/' },
      },
      /^destination: must not overlap the source/,
    ],
  ];
  const taken = [
    { source: { vault: 'photos', prefix: 'a/' }, destination: { vault: 'photos', prefix: 'b/' } },
    { source: { vault: 'photos' }, destination: { vault: 'archive' } },
    {
      source: { bucket: 'same-bucket' },
      destination: { bucket: 'same-bucket', endpoint: 'https://other.example.com' },
    },
    { source: { vault: 'photos' }, destination: { bucket: 'photos' } },
  ];

  // Act, Assess
  for (const [body, rule] of refused)
    assert.throws(
      () => parseJobRequest(body),
      (err: Error) => err instanceof InvalidParameterError && rule.test(err.message),
      JSON.stringify(body),
    );
  for (const body of taken) assert.ok(parseJobRequest(body), JSON.stringify(body));
});

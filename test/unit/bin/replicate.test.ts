/** `dsn replicate`'s sides: VAULT[/PREFIX] or s3://BUCKET[/PREFIX], with the endpoint for s3 sides. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSideArg } from '../../../bin/commands/replicate.ts';
import { UsageError } from '../../../bin/errors.ts';

test('a side is a vault with an optional prefix, or an s3 bucket with its endpoint and prefix', () => {
  assert.deepEqual(parseSideArg('photos'), { vault: 'photos' });
  assert.deepEqual(parseSideArg('photos/2024/'), { vault: 'photos', prefix: '2024/' });
  assert.deepEqual(parseSideArg('s3://backup', 'https://s3.example.com'), {
    bucket: 'backup',
    endpoint: 'https://s3.example.com',
  });
  assert.deepEqual(parseSideArg('s3://backup/a/b', undefined, 'eu-west-1'), {
    bucket: 'backup',
    region: 'eu-west-1',
    prefix: 'a/b',
  });
  assert.deepEqual(
    parseSideArg('s3://far', 'https://r2.example.com', undefined, 'dsn/replication/r2'),
    { bucket: 'far', endpoint: 'https://r2.example.com', secret: 'dsn/replication/r2' },
  );
  assert.deepEqual(
    parseSideArg('photos', 'https://r2.example.com', undefined, 'dsn/replication/r2'),
    {
      vault: 'photos',
    },
  );
  assert.throws(() => parseSideArg('gs://x'), UsageError);
  assert.throws(() => parseSideArg('/prefix'), UsageError);
});

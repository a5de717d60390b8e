import assert from 'node:assert/strict';
import { test } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { bodyBytes, S3SliceStore } from '../../../../shared/aws/store/slice-store.ts';

/**
 * A real S3 client of a region whose requests never leave it: a middleware at the head of its
 * stack records which bucket each call went to, and answers it.
 */
function recordingClient(name: string, calls: string[]): S3Client {
  const s3 = new S3Client({
    region: name,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  s3.middlewareStack.add(
    () => async (args) => {
      calls.push(`${name}:${'Bucket' in args.input ? args.input.Bucket : undefined}`);
      return { response: {}, output: { $metadata: {}, ContentLength: 3 } };
    },
    { step: 'initialize', priority: 'high', name: 'recordingS3' },
  );
  return s3;
}

test("each unit's requests go through the client of its bucket's region", async () => {
  const calls: string[] = [];
  const home = recordingClient('us-east-1', calls);
  const away = recordingClient('eu-west-1', calls);
  const store = new S3SliceStore([home, away, home], ['b0', 'b1', 'b2']);
  await store.put(1, 'k', new Uint8Array(3), 'AAAAAA==');
  await store.head(0, 'k');
  await store.delete(2, ['k']).catch(() => {});
  assert.deepEqual(calls, ['eu-west-1:b1', 'us-east-1:b0', 'us-east-1:b2']);
});

test('a client list that does not match the buckets is refused, and so is an unknown unit', async () => {
  const calls: string[] = [];
  assert.throws(
    () => new S3SliceStore([recordingClient('a', calls)], ['b0', 'b1']),
    /1 S3 clients for 2 unit buckets/,
  );
  const store = new S3SliceStore(recordingClient('a', calls), ['b0']);
  await assert.rejects(store.head(3, 'k'), /unit 3 is not in the pool of 1/);
});

test("a slice's body is read whole into its content-length, and a cut or overlong one is an error", async () => {
  async function* chunks(...parts: number[][]) {
    for (const p of parts) yield Uint8Array.from(p);
  }
  assert.deepEqual([...(await bodyBytes(chunks([1, 2], [3], [4, 5]), 5))], [1, 2, 3, 4, 5]);
  assert.deepEqual([...(await bodyBytes(chunks(), 0))], []);
  await assert.rejects(bodyBytes(chunks([1, 2], [3]), 5), /ended at 3 of its 5 bytes/);
  await assert.rejects(bodyBytes(chunks([1, 2], [3, 4]), 3), /ran past its content-length of 3/);
});

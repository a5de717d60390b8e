import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeadObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SDK_CLIENT_OPTIONS } from '../../../shared/aws/clients.ts';

/**
 * How many times one request through a client made with `config` had the SDK redact its input
 * for the log. A middleware ahead of the SDK's own wraps the command's redaction, and another
 * answers the request in place of S3.
 */
async function redactions(config: S3ClientConfig): Promise<number> {
  const s3 = new S3Client({
    ...config,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  let count = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const redact = context.inputFilterSensitiveLog;
      context.inputFilterSensitiveLog = (input: unknown) => {
        count++;
        return redact?.(input);
      };
      return next(args);
    },
    { step: 'initialize', priority: 'high', name: 'countRedactions' },
  );
  s3.middlewareStack.add(
    () => async () => ({ response: {}, output: { $metadata: {}, ContentLength: 3 } }),
    { step: 'finalizeRequest', priority: 'low', name: 'answerInPlaceOfS3' },
  );
  await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }));
  return count;
}

test("the project's SDK clients do not redact each request for a log that says nothing", async () => {
  // The SDK's default logger has an `info` that does nothing, and pays for the redaction anyway.
  assert.equal(await redactions({}), 1);
  assert.equal(await redactions({ ...SDK_CLIENT_OPTIONS }), 0);
});

test('their logger has every method the SDK calls without checking for it', () => {
  const logger = SDK_CLIENT_OPTIONS.logger as unknown as Record<string, unknown>;
  for (const method of ['debug', 'warn', 'error'])
    assert.equal(typeof logger[method], 'function', method);
  assert.equal(logger.info, undefined);
});

/**
 * AWS SDK clients, created once per process and shared by every adapter. Endpoints come from
 * the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables, so the same code runs
 * against AWS, LocalStack and the local cloud.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@smithy/types';

export interface AwsClients {
  s3: S3Client;
  sns: SNSClient;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  /** Document client over `dynamodb`; undefined attributes are left out rather than refused. */
  documents: DynamoDBDocumentClient;
  sfn: SFNClient;
}

let shared: AwsClients | undefined;

/** True when S3 is an emulator or LocalStack, which address buckets by path, not by host. */
function customS3Endpoint(env: Record<string, string | undefined>): boolean {
  return Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
}

const CHECKSUM_VALUE = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/i;

/**
 * A request that carries an `x-amz-checksum-*` value is checked by S3 against it on arrival (a
 * mismatch stores nothing), and travels over TLS on AWS: signing a SHA-256 of the whole body
 * on top adds nothing but a second pass over every byte. Such requests are signed with
 * `UNSIGNED-PAYLOAD`, as the SDK itself does for streamed uploads with a trailing checksum.
 * Returns the client it was given.
 */
export function signChecksummedPayloadsOnce(s3: S3Client): S3Client {
  s3.middlewareStack.add(
    (next) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers;
      if (headers && Object.keys(headers).some((h) => CHECKSUM_VALUE.test(h)))
        headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'dsnUnsignedChecksummedPayload' },
  );
  return s3;
}

/**
 * A logger for SDK clients that says nothing, as the SDK's default does, but has no `info`.
 * The SDK's logger middleware builds a redacted copy of every request's input and output for
 * `logger?.info?.(...)` before the call, even when `info` does nothing; without `info` that
 * copy is never made. `debug`, `warn` and `error` stay, since the SDK calls some of them
 * unguarded.
 */
const QUIET_SDK_LOGGER = {
  trace() {},
  debug() {},
  warn() {},
  error() {},
} as unknown as Logger;

/**
 * Options for every SDK client this project makes, over their other settings: the quiet logger
 * above. (Not `cacheMiddleware`: with it, slice PUTs through the unit clients never completed.)
 */
export const SDK_CLIENT_OPTIONS = { logger: QUIET_SDK_LOGGER } as const;

/** The process's clients, created on first use. */
export function awsClients(env: Record<string, string | undefined> = process.env): AwsClients {
  if (!shared) {
    const dynamodb = new DynamoDBClient({ ...SDK_CLIENT_OPTIONS });
    shared = {
      s3: signChecksummedPayloadsOnce(
        new S3Client({ ...SDK_CLIENT_OPTIONS, forcePathStyle: customS3Endpoint(env) }),
      ),
      sns: new SNSClient({ ...SDK_CLIENT_OPTIONS }),
      sqs: new SQSClient({ ...SDK_CLIENT_OPTIONS }),
      dynamodb,
      documents: DynamoDBDocumentClient.from(dynamodb, {
        marshallOptions: { removeUndefinedValues: true },
      }),
      sfn: new SFNClient({ ...SDK_CLIENT_OPTIONS }),
    };
  }
  return shared;
}

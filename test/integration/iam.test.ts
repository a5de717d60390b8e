/**
 * IAM on the local cloud (infra/local/iam.ts): a function's role key is held to that role's
 * policies in serverless.yml, call by call, for every service the emulators answer; a refusal
 * comes in the shape the AWS SDK reads as on AWS, and is logged and counted; presigned URLs
 * act with their signer's role; the account owner's key is not held; `iam: false` turns it off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetTopicAttributesCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import { ROLE_SECRET } from '../../infra/local/iam.ts';
import { presignedUrl } from '../../shared/aws/presign.ts';
import { EPHEMERAL_PORTS, PROJECT_ROOT, tempDir } from '../helpers/local-cloud.ts';

/** The error an SDK call rejects with: its name and HTTP status. */
async function refusal(call: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await call;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  return { name: 'no error' };
}

describe('IAM for the functions’ roles', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const lines: string[] = [];
  const as = (functionKey: string) => {
    const accessKeyId = cloud.iam.keyOf(functionKey);
    assert.ok(accessKeyId, `${functionKey} has a role`);
    return { region: 'us-east-1', credentials: { accessKeyId, secretAccessKey: ROLE_SECRET } };
  };
  const s3As = (fn: string) =>
    new S3Client({
      ...as(fn),
      endpoint: cloud.endpoints.s3,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });

  before(async () => {
    dir = await tempDir('dsn-iam-');
    cloud = await startLocalCloud({
      serviceDir: PROJECT_ROOT,
      dataDir: dir.path,
      stage: 'test',
      ports: EPHEMERAL_PORTS,
      log: (line) => lines.push(line),
    });
  });
  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('each function signs with its own role’s key', () => {
    assert.equal(cloud.iam.enforce, true);
    assert.equal(cloud.iam.keyOf('reader'), 'local-role.ReaderRole');
    assert.equal(cloud.iam.keyOf('api'), 'local-role.ApiRole');
    assert.equal(cloud.iam.keyOf('no-such-function'), undefined);
  });

  test('S3: an object action the role lacks is 403 AccessDenied; one it has goes on', async () => {
    const bucket = cloud.ref('Unit0Bucket');
    const before = cloud.iam.denied;
    const reader = s3As('reader');
    assert.deepEqual(
      await refusal(reader.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }))),
      { name: 'AccessDenied', status: 403 },
    );
    // With s3:GetObject and s3:ListBucket, a missing slice is NoSuchKey, as reader.ts expects.
    assert.deepEqual(
      await refusal(reader.send(new GetObjectCommand({ Bucket: bucket, Key: 'nothing' }))),
      { name: 'NoSuchKey', status: 404 },
    );
    assert.equal(cloud.iam.denied, before + 1);
    const last = cloud.iam.denials().at(-1);
    assert.deepEqual(
      { action: last?.action, resource: last?.resource },
      { action: 's3:PutObject', resource: `arn:aws:s3:::${bucket}/k` },
    );
    assert.ok(
      lines.some((l) =>
        /IAM denied dsn-test-us-east-1-reader: s3:PutObject on arn:aws:s3:::/.test(l),
      ),
      'the refusal is logged, naming the role and the call',
    );
  });

  test('a presigned URL acts with its signer’s role', async () => {
    const bucket = cloud.ref('Unit1Bucket');
    const put = (fn: string) =>
      presignedUrl(
        s3As(fn),
        new PutObjectCommand({ Bucket: bucket, Key: `presigned/${fn}` }),
        60,
      ).then((url) => fetch(url, { method: 'PUT', body: 'slice' }));
    const byReader = await put('reader');
    assert.equal(byReader.status, 403);
    assert.match(await byReader.text(), /<Code>AccessDenied<\/Code>.*s3:PutObject/);
    const byApi = await put('api');
    assert.equal(byApi.status, 200, await byApi.text());
  });

  test('DynamoDB: dynamodb:LeadingKeys holds a role to its items of a shared table', async () => {
    const ddb = new DynamoDBClient({ ...as('reader'), endpoint: cloud.endpoints.dynamodb });
    const get = (id: string) =>
      ddb.send(
        new GetItemCommand({ TableName: cloud.ref('ControlTable'), Key: { id: { S: id } } }),
      );
    assert.equal((await get('read/some-grant')).Item, undefined, 'its own items: allowed');
    assert.deepEqual(await refusal(get('upload/someone-else')), {
      name: 'AccessDeniedException',
      status: 400,
    });
  });

  test('SNS, SQS, Step Functions, Lambda and Secrets Manager refuse in their own shapes', async () => {
    const reader = as('reader');
    const sns = new SNSClient({ ...reader, endpoint: cloud.endpoints.sns });
    assert.deepEqual(
      await refusal(
        sns.send(new PublishCommand({ TopicArn: cloud.ref('NetworkTopic'), Message: 'forged' })),
      ),
      { name: 'AuthorizationErrorException', status: 403 },
    );
    const sqs = new SQSClient({ ...reader, endpoint: cloud.endpoints.sqs });
    assert.deepEqual(
      await refusal(
        sqs.send(new SendMessageCommand({ QueueUrl: cloud.ref('WorkQueue'), MessageBody: '{}' })),
      ).then((r) => r.status),
      403,
    );
    const sfn = new SFNClient({ ...reader, endpoint: cloud.endpoints.stepFunctions });
    assert.deepEqual(
      await refusal(
        sfn.send(
          new StartExecutionCommand({
            stateMachineArn: cloud.ref('ReplicationStepFunctionsStateMachine'),
          }),
        ),
      ),
      { name: 'AccessDeniedException', status: 400 },
    );
    // The project has no Lambda client: the call as one signs it (the layer reads its scope).
    const invoke = await fetch(
      `${cloud.endpoints.lambda}/2015-03-31/functions/${cloud.ref('api')}/invocations`,
      {
        method: 'POST',
        headers: {
          authorization: `AWS4-HMAC-SHA256 Credential=${reader.credentials.accessKeyId}/20261206/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00`,
        },
        body: '{}',
      },
    );
    assert.equal(invoke.status, 403);
    assert.equal(invoke.headers.get('x-amzn-errortype'), 'AccessDeniedException');
    const secrets = new SecretsManagerClient({ ...reader, endpoint: cloud.endpoints.s3 });
    assert.deepEqual(
      await refusal(secrets.send(new GetSecretValueCommand({ SecretId: 'dsn/replication/x' }))),
      { name: 'AccessDeniedException', status: 400 },
    );
    // What the api's role allows reaches the emulator, which answers as it would.
    const api = new SNSClient({ ...as('api'), endpoint: cloud.endpoints.sns });
    const attributes = await api.send(
      new GetTopicAttributesCommand({ TopicArn: cloud.ref('NetworkTopic') }),
    );
    assert.ok(attributes.Attributes);
  });

  test('the account owner’s key is not held to any role', async () => {
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: cloud.endpoints.s3,
      forcePathStyle: true,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await s3.send(
      new PutObjectCommand({ Bucket: cloud.ref('Unit0Bucket'), Key: 'owner', Body: 'x' }),
    );
  });

  test('with iam: false (DSN_IAM=off) a role is held to nothing', async () => {
    const offDir = await tempDir('dsn-iam-off-');
    const off = await startLocalCloud({
      serviceDir: PROJECT_ROOT,
      dataDir: offDir.path,
      stage: 'test',
      ports: EPHEMERAL_PORTS,
      iam: false,
    });
    try {
      assert.equal(off.iam.enforce, false);
      const reader = new S3Client({
        region: 'us-east-1',
        endpoint: off.endpoints.s3,
        forcePathStyle: true,
        credentials: { accessKeyId: 'local-role.ReaderRole', secretAccessKey: ROLE_SECRET },
      });
      await reader.send(
        new PutObjectCommand({ Bucket: off.ref('Unit0Bucket'), Key: 'k', Body: 'x' }),
      );
      assert.equal(off.iam.denied, 0);
    } finally {
      await off.stop();
      await offDir.remove();
    }
  });
});

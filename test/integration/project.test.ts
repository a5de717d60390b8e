/**
 * The project's own serverless.yml on the local cloud: every declared resource exists, the
 * API answers through API Gateway's payload, and creating a vault re-subscribes its units so
 * that one publish to the vault's address reaches exactly those units.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { ListQueuesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { PROJECT_ROOT, startTestCloud, tempDir } from '../helpers/local-cloud.ts';

describe('the project on the local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let api: (path: string, init?: RequestInit) => Promise<Response>;

  before(async () => {
    dir = await tempDir('dsn-project');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    api = (path, init) => fetch(`${cloud.endpoints.api}${path}`, init);
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  const clients = () => {
    const config = {
      region: cloud.service.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    return {
      s3: new S3Client({ ...config, endpoint: cloud.endpoints.s3, forcePathStyle: true }),
      sns: new SNSClient({ ...config, endpoint: cloud.endpoints.sns }),
      sqs: new SQSClient({ ...config, endpoint: cloud.endpoints.sqs }),
    };
  };

  test('every bucket and queue serverless.yml declares exists', async () => {
    // Prepare
    const { s3, sqs } = clients();
    const declared = Object.values(cloud.service.resources);

    // Act
    const buckets = (await s3.send(new ListBucketsCommand({}))).Buckets ?? [];
    const queues = (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];

    // Assess
    assert.equal(buckets.length, declared.filter((r) => r.Type === 'AWS::S3::Bucket').length);
    assert.equal(queues.length, declared.filter((r) => r.Type === 'AWS::SQS::Queue').length);
    assert.ok(buckets.every((b) => /^dsn-test-unit-\d+-000000000000$/.test(b.Name ?? '')));
  });

  test('GET /health reaches the api handler and finds every dependency', async () => {
    const res = await api('/health');
    const body = (await res.json()) as {
      status: string;
      checks: Array<{ name: string; ok: boolean }>;
    };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ok');
    assert.equal(body.checks.filter((c) => c.name.startsWith('unit-')).length, 8);
  });

  test('a new vault subscribes exactly its units to its multicast address', async () => {
    // Prepare
    const { sns, sqs } = clients();

    // Act
    const created = await api('/vaults', {
      method: 'POST',
      body: JSON.stringify({
        name: 'trio',
        width: 3,
        readThreshold: 2,
        writeThreshold: 2,
        units: [1, 6, 7],
      }),
    });
    await sns.send(
      new PublishCommand({
        TopicArn: cloud.ref('NetworkTopic'),
        Message: 'hello trio',
        MessageAttributes: { 'dsn-address': { DataType: 'String', StringValue: 'vault/trio' } },
      }),
    );
    await sns.send(
      new PublishCommand({
        TopicArn: cloud.ref('NetworkTopic'),
        Message: 'end',
        MessageAttributes: { 'dsn-address': { DataType: 'String', StringValue: 'vault/default' } },
      }),
    );

    // Assess
    assert.equal(created.status, 201);
    const heard: number[] = [];
    for (let unit = 0; unit < 8; unit++) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: cloud.ref(`Unit${unit}Queue`),
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      if (Messages?.some((m) => m.Body === 'hello trio')) heard.push(unit);
    }
    assert.deepEqual(heard, [1, 6, 7]);
  });

  test('vault calls answer 201, 200, 400, 404 and 409 with error bodies naming the rule', async () => {
    const post = (body: unknown) => api('/vaults', { method: 'POST', body: JSON.stringify(body) });
    const ok = await post({ name: 'photos', width: 4, readThreshold: 2, writeThreshold: 3 });
    const again = await post({ name: 'photos', width: 4, readThreshold: 2, writeThreshold: 3 });
    const tooWide = await post({ name: 'wide', width: 9, readThreshold: 2, writeThreshold: 3 });
    const badT = await post({ name: 'badt', width: 4, readThreshold: 3, writeThreshold: 2 });
    const notJson = await api('/vaults', { method: 'POST', body: '{' });
    const missing = await api('/vaults/nothing-here');
    const list = (await (await api('/vaults')).json()) as { vaults: Array<{ name: string }> };

    assert.equal(ok.status, 201);
    assert.equal(again.status, 409);
    assert.deepEqual(await again.json(), {
      error: { code: 'VaultExists', message: 'vault "photos" already exists' },
    });
    assert.equal(tooWide.status, 400);
    assert.match(
      ((await tooWide.json()) as { error: { message: string } }).error.message,
      /^width: must be between 1 and 8, got 9$/,
    );
    assert.equal(badT.status, 400);
    assert.match(
      ((await badT.json()) as { error: { message: string } }).error.message,
      /^writeThreshold: must be between 3 and 4/,
    );
    assert.equal(notJson.status, 400);
    assert.equal(missing.status, 404);
    assert.ok(['default', 'photos', 'trio'].every((n) => list.vaults.some((v) => v.name === n)));
  });
});

/**
 * The project's own serverless.yml on the local cloud: every declared resource exists, the
 * API answers through API Gateway's payload, and creating a vault re-subscribes its units so
 * that one publish to the vault's address reaches exactly those units.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListBucketsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
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
    assert.ok(
      buckets.every((b) => /^dsn-test-(unit-\d+|staging)-000000000000$/.test(b.Name ?? '')),
    );
  });

  test('GET /health reaches the api handler and finds every dependency', async () => {
    const res = await api('/health');
    const body = (await res.json()) as {
      status: string;
      checks: Array<{ name: string; ok: boolean }>;
    };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ok');
    // Nine home units and two edge units.
    assert.equal(body.checks.filter((c) => c.name.startsWith('unit-')).length, 11);
  });

  test('a new vault changes no subscription, and its writes reach exactly its units', async () => {
    // Prepare
    const { sns, s3 } = clients();
    const policies = async () => {
      const subs = await sns.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: cloud.ref('NetworkTopic') }),
      );
      const byUnit: unknown[] = [];
      for (let unit = 0; unit < 9; unit++) {
        const queueArn = cloud.attribute(`Unit${unit}Queue`, 'Arn');
        const sub = subs.Subscriptions?.find((s) => s.Endpoint === queueArn);
        const attrs = await sns.send(
          new GetSubscriptionAttributesCommand({ SubscriptionArn: sub?.SubscriptionArn }),
        );
        byUnit.push(JSON.parse(attrs.Attributes?.FilterPolicy ?? '{}'));
      }
      return byUnit;
    };
    const before = await policies();

    // Act
    const created = await api('/vaults', {
      method: 'POST',
      body: JSON.stringify({
        name: 'trio',
        width: 3,
        readThreshold: 2,
        writeThreshold: 3,
        units: [1, 6, 7],
      }),
    });
    const put = await api('/vaults/trio/objects/hello', { method: 'PUT', body: 'hello trio' });
    const got = await api('/vaults/trio/objects/hello');

    // Assess
    assert.equal(created.status, 201);
    // Each unit filters on its own address alone, before and after.
    assert.deepEqual(
      before,
      [...Array(9).keys()].map((u) => ({ 'dsn-to': [`unit/${u}`] })),
    );
    assert.deepEqual(await policies(), before);
    // The one publish reached units 1, 6 and 7, and no other unit stored a slice of the vault.
    const holding: number[] = [];
    for (let unit = 0; unit < 9; unit++) {
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: cloud.ref(`Unit${unit}Bucket`), Prefix: 'trio/' }),
      );
      if ((listed.KeyCount ?? 0) > 0) holding.push(unit);
    }
    assert.deepEqual(holding, [1, 6, 7]);
    // T = 3 = n: the write commits only if all three units heard the one publish.
    assert.equal(put.status, 201);
    assert.equal(await got.text(), 'hello trio');
  });

  test('vault calls answer 201, 200, 400, 404 and 409 with error bodies naming the rule', async () => {
    const post = (body: unknown) => api('/vaults', { method: 'POST', body: JSON.stringify(body) });
    const ok = await post({ name: 'photos', width: 4, readThreshold: 2, writeThreshold: 3 });
    const again = await post({ name: 'photos', width: 4, readThreshold: 2, writeThreshold: 3 });
    const tooWide = await post({ name: 'wide', width: 10, readThreshold: 2, writeThreshold: 3 });
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
      /^width: must be between 1 and 9, got 10$/,
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

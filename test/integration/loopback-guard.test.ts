/**
 * Only programs on this machine may use the local cloud, not web pages: every port refuses a
 * request whose Host is not a loopback name (DNS rebinding) or whose Origin is a foreign page
 * (a cross-site POST), while curl, the AWS SDK and the aws CLI, which send neither, still work.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { FIXTURE_SERVICE, startTestCloud, tempDir } from '../helpers/local-cloud.ts';
import { hasCommand } from '../helpers/tools.ts';

interface Answer {
  status: number;
  type: string;
  body: string;
}

/** One raw request, with exactly the Host and Origin given (fetch would not let us set Host). */
function send(
  endpoint: string,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: opts.headers,
      },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            body,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const hasAwsCli = () => hasCommand('aws');

describe('the local cloud answers this machine only', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;

  before(async () => {
    dir = await tempDir('dsn-guard');
    cloud = await startTestCloud(FIXTURE_SERVICE, dir.path);
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('the HTTP API refuses a foreign Host or Origin with 403 and its error body; loopback names and no Origin pass', async () => {
    // Prepare
    const api = cloud.endpoints.api;
    const port = new URL(api).port;
    const echo = (headers: Record<string, string>) => send(api, { path: '/echo/x', headers });

    // Act
    const rebound = await echo({ host: `rebind.evil.example:${port}` });
    const crossSite = await echo({ host: `127.0.0.1:${port}`, origin: 'https://evil.example' });
    const sandboxed = await echo({ host: `127.0.0.1:${port}`, origin: 'null' });
    // The attack the issue names: a page POSTing to the admin routes (a form needs no preflight).
    const chaos = await send(api, {
      method: 'POST',
      path: '/admin/chaos',
      headers: {
        host: `127.0.0.1:${port}`,
        origin: 'https://evil.example',
        'content-type': 'text/plain',
      },
      body: '{"slices":1}',
    });
    const fault = await send(api, {
      method: 'PUT',
      path: '/admin/units/0/fault',
      headers: { host: `127.0.0.1:${port}`, origin: 'https://evil.example' },
      body: '{"mode":"write-fail"}',
    });
    const passing = await Promise.all([
      echo({ host: `127.0.0.1:${port}` }),
      echo({ host: `localhost:${port}` }),
      echo({ host: `[::1]:${port}` }),
      echo({ host: `localhost:${port}`, origin: 'http://localhost:5173' }),
    ]);

    // Assess
    for (const refused of [rebound, crossSite, sandboxed, chaos, fault]) {
      assert.equal(refused.status, 403, refused.body);
      assert.equal(refused.type, 'application/json');
      const { error } = JSON.parse(refused.body);
      assert.equal(error.code, 'Forbidden');
      assert.match(error.message, /is not this machine/);
    }
    assert.match(JSON.parse(rebound.body).error.message, /^Host "rebind\.evil\.example:\d+"/);
    assert.match(JSON.parse(crossSite.body).error.message, /^Origin "https:\/\/evil\.example"/);
    assert.deepEqual(
      passing.map((a) => a.status),
      [200, 200, 200, 200],
    );
  });

  test('every emulator refuses a foreign Host or Origin, in the error shape its clients read', async () => {
    // Prepare
    const e = cloud.endpoints;
    const foreignHost = { host: 'rebind.evil.example' };
    const foreignOrigin = (url: string) => ({
      host: new URL(url).host,
      origin: 'https://evil.example',
    });
    const json = (target: string) => ({
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': target,
    });

    // Act
    const s3 = await send(e.s3, { path: '/', headers: foreignHost });
    const sns = await send(e.sns, {
      method: 'POST',
      headers: { ...foreignOrigin(e.sns), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=ListTopics',
    });
    const sqs = await send(e.sqs, {
      method: 'POST',
      headers: { ...foreignOrigin(e.sqs), ...json('AmazonSQS.ListQueues') },
      body: '{}',
    });
    const dynamodb = await send(e.dynamodb, {
      method: 'POST',
      headers: { ...foreignHost, ...json('DynamoDB_20120810.ListTables') },
      body: '{}',
    });
    const sfn = await send(e.stepFunctions, {
      method: 'POST',
      headers: { ...foreignOrigin(e.stepFunctions), ...json('AWSStepFunctions.ListStateMachines') },
      body: '{}',
    });

    const lambda = await send(e.lambda, {
      method: 'POST',
      path: '/2015-03-31/functions/echo/invocations',
      headers: foreignHost,
      body: '{}',
    });

    // Assess
    assert.equal(lambda.status, 403, lambda.body);
    assert.match(JSON.parse(lambda.body).message, /^Host "rebind\.evil\.example"/);
    for (const xml of [s3, sns]) {
      assert.equal(xml.status, 403, xml.body);
      assert.match(xml.body, /<Code>AccessDenied<\/Code><Message>(Host|Origin) &quot;/);
    }
    for (const answer of [sqs, dynamodb, sfn]) {
      assert.equal(answer.status, 403, answer.body);
      assert.equal(JSON.parse(answer.body).__type, 'AccessDenied');
    }
  });

  test('the AWS SDK and the aws CLI still work against every emulator', async (t) => {
    // Prepare
    const region = cloud.service.region;
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const e = cloud.endpoints;

    // Act
    const sdk = await Promise.all([
      new S3Client({ region, credentials, endpoint: e.s3, forcePathStyle: true })
        .send(new ListBucketsCommand({}))
        .then((r) => r.Buckets?.length),
      new SNSClient({ region, credentials, endpoint: e.sns })
        .send(new ListTopicsCommand({}))
        .then((r) => r.Topics?.length),
      new SQSClient({ region, credentials, endpoint: e.sqs })
        .send(new ListQueuesCommand({}))
        .then((r) => r.QueueUrls?.length),
      new DynamoDBClient({ region, credentials, endpoint: e.dynamodb })
        .send(new ListTablesCommand({}))
        .then((r) => r.TableNames?.length),
      new SFNClient({ region, credentials, endpoint: e.stepFunctions })
        .send(new ListStateMachinesCommand({}))
        .then((r) => r.stateMachines?.length),
    ]);

    // Assess
    for (const count of sdk) assert.ok((count ?? 0) > 0, `the SDK listed ${count}`);
    if (!hasAwsCli()) {
      t.skip('the aws CLI is not installed');
      return;
    }
    const aws = promisify(execFile);
    const env = { ...process.env, ...cloud.env };
    // --endpoint-url, as the aws CLI is usually pointed at an emulator (v1 reads no
    // AWS_ENDPOINT_URL_SQS); localhost for one of them, as people write it too.
    const cli = await Promise.all(
      [
        ['s3api', 'list-buckets', e.s3],
        ['sns', 'list-topics', e.sns],
        ['sqs', 'list-queues', e.sqs],
        ['dynamodb', 'list-tables', e.dynamodb.replace('127.0.0.1', 'localhost')],
        ['stepfunctions', 'list-state-machines', e.stepFunctions],
      ].map(async ([service, command, endpoint]) => {
        const args = [service, command, '--endpoint-url', endpoint, '--output', 'json'];
        const { stdout } = await aws('aws', args as string[], { env });
        return JSON.parse(stdout);
      }),
    );
    assert.ok(cli[0].Buckets.length > 0);
    assert.ok(cli[1].Topics.length > 0);
    assert.ok(cli[2].QueueUrls.length > 0);
    assert.ok(cli[3].TableNames.length > 0);
    assert.ok(cli[4].stateMachines.length > 0);
  });
});

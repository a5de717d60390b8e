import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { startLocalCloud } from '../../infra/local/cloud.ts';
import { DataDirInUseError } from '../../infra/local/data-lock.ts';
import { PortInUseError } from '../../infra/local/ports.ts';
import {
  EPHEMERAL_PORTS,
  eventually,
  FIXTURE_SERVICE,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';

function clientsFor(cloud: LocalCloud) {
  const region = cloud.service.region;
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const e = cloud.endpoints;
  return {
    s3: new S3Client({ region, credentials, endpoint: e.s3, forcePathStyle: true }),
    sns: new SNSClient({ region, credentials, endpoint: e.sns }),
    sqs: new SQSClient({ region, credentials, endpoint: e.sqs }),
    ddb: new DynamoDBClient({ region, credentials, endpoint: e.dynamodb }),
    doc: DynamoDBDocumentClient.from(
      new DynamoDBClient({ region, credentials, endpoint: e.dynamodb }),
    ),
    sfn: new SFNClient({ region, credentials, endpoint: e.stepFunctions }),
  };
}

async function executionDone(sfn: SFNClient, executionArn: string) {
  return eventually(async () => {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return d.status === 'RUNNING' ? undefined : d;
  }, `execution ${executionArn} to finish`);
}

describe('local cloud, provisioned from the fixture serverless.yml', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let c: ReturnType<typeof clientsFor>;

  before(async () => {
    dir = await tempDir('dsn-cloud');
    cloud = await startTestCloud(FIXTURE_SERVICE, dir.path);
    c = clientsFor(cloud);
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('one SNS publish reaches every subscribed unit queue, and a filter policy excludes the others', async () => {
    // Prepare
    const topicArn = cloud.ref('FanoutTopic');
    const publish = (address: string, body: string) =>
      c.sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: body,
          MessageAttributes: { address: { DataType: 'String', StringValue: address } },
        }),
      );
    const receiveAll = async (logicalId: string) => {
      const { Messages } = await c.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: cloud.ref(logicalId),
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      return (Messages ?? []).map((m) => m.Body);
    };

    // Act: the first message is for vault-1; the second, to vault-2, marks the end of the stream.
    await publish('vault-1', 'to-vault-1');
    await publish('vault-2', 'to-vault-2');

    // Assess: raw delivery, so bodies arrive as published.
    assert.deepEqual(await receiveAll('UnitAQueue'), ['to-vault-1']);
    assert.deepEqual(await receiveAll('UnitBQueue'), ['to-vault-1']);
    assert.deepEqual(await receiveAll('UnitCQueue'), ['to-vault-2']);
  });

  test('an SQS handler that reports one failed record gets only that record back, and after maxReceiveCount it lands in the DLQ', async () => {
    // Prepare
    const queueUrl = cloud.ref('WorkQueue');

    // Act
    for (const body of ['ok-1', 'fail-1', 'ok-2']) {
      await c.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    }
    const dead = await eventually(
      async () => {
        const { Messages } = await c.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: cloud.ref('WorkDeadLetterQueue'),
            WaitTimeSeconds: 1,
          }),
        );
        return Messages?.[0];
      },
      'the failing record in the DLQ',
      30_000,
    );

    // Assess
    assert.equal(dead.Body, 'fail-1');
    const deliveries = async (body: string) =>
      (
        await c.doc.send(
          new QueryCommand({
            TableName: cloud.ref('RecordsTable'),
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `sqs#${body}` },
          }),
        )
      ).Items ?? [];
    assert.equal(
      (await deliveries('ok-1')).length,
      1,
      'a succeeded record is deleted, not redelivered',
    );
    assert.equal((await deliveries('ok-2')).length, 1);
    const failed = await deliveries('fail-1');
    assert.equal(failed.length, 2, 'received maxReceiveCount (2) times before the DLQ');
    assert.deepEqual(failed.map((f) => f.sk.split('#')[1]).sort(), ['1', '2']);
  });

  test('an HTTP route reaches its handler with the API Gateway v2 payload and a realistic context', async () => {
    // Act
    const get = await fetch(`${cloud.endpoints.api}/echo/alice?x=1&x=2`);
    const post = await fetch(`${cloud.endpoints.api}/echo/a/b%20c`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array([0, 255, 1]),
    });
    const missing = await fetch(`${cloud.endpoints.api}/nowhere`);

    // Assess
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('x-fixture'), 'echo');
    // biome-ignore lint/suspicious/noExplicitAny: a JSON body checked field by field below
    const g = (await get.json()) as any;
    assert.equal(g.routeKey, 'GET /echo/{name}');
    assert.deepEqual(g.pathParameters, { name: 'alice' });
    assert.deepEqual(g.query, { x: '1,2' });
    assert.equal(g.functionName, 'fixture-test-echo');
    assert.ok(
      g.remainingMs > 0 && g.remainingMs <= 3000,
      `remaining ${g.remainingMs} within the 3 s timeout`,
    );
    assert.equal(g.recordsTable, cloud.ref('RecordsTable'));
    // biome-ignore lint/suspicious/noExplicitAny: a JSON body checked field by field below
    const p = (await post.json()) as any;
    assert.equal(p.routeKey, 'POST /echo/{proxy+}');
    assert.deepEqual(p.pathParameters, { proxy: 'a/b c' });
    assert.equal(p.isBase64Encoded, true);
    assert.deepEqual([...Buffer.from(p.body, 'base64')], [0, 255, 1]);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { message: 'Not Found' });
  });

  test('a state machine runs Lambda tasks, and RedriveExecution resumes a failed execution without rerunning what succeeded', async () => {
    // Prepare
    const run = `r${Date.now()}`;
    const stateMachineArn = cloud.ref('pipeline');

    // Act: Flaky fails while its switch is off.
    const { executionArn } = await c.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ run }) }),
    );
    const failed = await executionDone(c.sfn, executionArn as string);
    await c.doc.send(
      new PutCommand({
        TableName: cloud.ref('RecordsTable'),
        Item: { pk: `switch#${run}`, sk: 'on' },
      }),
    );
    await c.sfn.send(new RedriveExecutionCommand({ executionArn }));
    const redriven = await executionDone(c.sfn, executionArn as string);

    // Assess
    assert.equal(failed.status, 'FAILED');
    assert.equal(failed.error, 'SwitchOffError');
    assert.equal(redriven.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(redriven.output as string), { run, counted: 1, flaky: 'passed' });
    const counter = await c.doc.send(
      new QueryCommand({
        TableName: cloud.ref('RecordsTable'),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `count#${run}` },
      }),
    );
    assert.equal(counter.Items?.[0]?.n, 1, 'Count ran once across the run and its redrive');
  });

  test('a DynamoDB conditional write is refused on conflict, and tables carry their declared indexes', async () => {
    // Prepare
    const TableName = cloud.ref('RecordsTable');
    const put = () =>
      c.doc.send(
        new PutCommand({
          TableName,
          Item: { pk: 'lock', sk: 'item-1', owner: 'a' },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );

    // Act
    await put();
    const second = put();

    // Assess
    await assert.rejects(second, ConditionalCheckFailedException);
    const table = await c.ddb.send(new DescribeTableCommand({ TableName }));
    assert.deepEqual(
      table.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName),
      ['byKind'],
    );
  });
});

describe('local cloud restarts', () => {
  test('objects, messages, table items and executions survive a restart', async () => {
    // Prepare
    const dir = await tempDir('dsn-restart');
    try {
      let cloud = await startTestCloud(FIXTURE_SERVICE, dir.path);
      let c = clientsFor(cloud);
      const bucket = cloud.ref('DataBucket');
      await c.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.txt', Body: 'kept' }));
      await c.sqs.send(
        new SendMessageCommand({ QueueUrl: cloud.ref('UnitAQueue'), MessageBody: 'kept' }),
      );
      await c.doc.send(
        new PutCommand({
          TableName: cloud.ref('RecordsTable'),
          Item: { pk: 'kept', sk: '1', kind: 'x' },
        }),
      );
      const { executionArn } = await c.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: cloud.ref('pipeline'),
          input: '{"run":"restart"}',
        }),
      );
      await executionDone(c.sfn, executionArn as string);

      // Act
      await cloud.stop();
      cloud = await startTestCloud(FIXTURE_SERVICE, dir.path);
      c = clientsFor(cloud);

      // Assess
      try {
        const object = await c.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.txt' }));
        assert.equal(await object.Body?.transformToString(), 'kept');
        const { Messages } = await c.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: cloud.ref('UnitAQueue'), WaitTimeSeconds: 1 }),
        );
        assert.equal(Messages?.[0]?.Body, 'kept');
        const items = await c.doc.send(new ScanCommand({ TableName: cloud.ref('RecordsTable') }));
        assert.ok(items.Items?.some((i) => i.pk === 'kept'));
        const list = await c.sfn.send(
          new ListExecutionsCommand({ stateMachineArn: cloud.ref('pipeline') }),
        );
        assert.ok(list.executions?.some((e) => e.executionArn === executionArn));
      } finally {
        await cloud.stop();
      }
    } finally {
      await dir.remove();
    }
  });

  test('a port already in use gives one line naming the port and the variable that changes it', async () => {
    // Prepare
    const dir = await tempDir('dsn-port');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;

    // Act
    const start = startLocalCloud({
      serviceDir: FIXTURE_SERVICE,
      dataDir: dir.path,
      stage: 'test',
      ports: { ...EPHEMERAL_PORTS, api: port },
    });

    // Assess
    try {
      await assert.rejects(start, (err: Error) => {
        assert.ok(err instanceof PortInUseError);
        assert.equal(
          err.message,
          `port ${port} is already in use; set DSN_PORT to another port (or 0 for any free one)`,
        );
        return true;
      });
    } finally {
      blocker.close();
      await dir.remove();
    }
  });

  test('a data folder another local cloud holds gives one line naming its pid, and is free again once it stops', async () => {
    // Prepare
    const dir = await tempDir('dsn-lock');
    const options = {
      serviceDir: FIXTURE_SERVICE,
      dataDir: dir.path,
      stage: 'test',
      ports: EPHEMERAL_PORTS,
    };
    const first = await startLocalCloud(options);
    try {
      // Act
      const second = startLocalCloud(options);

      // Assess
      await assert.rejects(second, (err: Error) => {
        assert.ok(err instanceof DataDirInUseError);
        assert.match(
          err.message,
          new RegExp(`in use by another local cloud \\(pid ${process.pid}\\)`),
        );
        return true;
      });
      const { s3 } = clientsFor(first);
      const bucket = first.ref('DataBucket');
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'still', Body: 'here' }));
      const read = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'still' }));
      assert.equal(await read.Body?.transformToString(), 'here', 'the first cloud serves on');
    } finally {
      await first.stop();
    }
    const third = await startLocalCloud(options);
    await third.stop();
    await dir.remove();
  });
});

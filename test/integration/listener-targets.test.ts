/**
 * The Lambda target and a crashed delivery node, on the local cloud. Two clouds run side by
 * side: the fixture service, whose `inbox` function records every event it is invoked with, and
 * the project, whose functions are pointed at the fixture's Lambda API (AWS_ENDPOINT_URL_LAMBDA)
 * as they would be at AWS's, and whose delivery nodes carry the crash hook
 * (functions/listener-crash.ts) set to fire once, at the first delivery.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import {
  createVault,
  EPHEMERAL_PORTS,
  eventually,
  FIXTURE_SERVICE,
  LOCAL_CREDENTIALS,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';

type Doc = Record<string, unknown>;

describe('listener targets on the local cloud: Lambda, and a node crashed mid-delivery', () => {
  let fixtureDir: Awaited<ReturnType<typeof tempDir>>;
  let projectDir: Awaited<ReturnType<typeof tempDir>>;
  let fixture: LocalCloud;
  let project: LocalCloud;
  let lambda: LambdaClient;
  let records: DynamoDBDocumentClient;
  let sqs: SQSClient;
  let crashMark: string;
  const api = (path: string, init?: RequestInit) => fetch(`${project.endpoints.api}${path}`, init);
  const listen = async (body: unknown) => {
    const res = await api('/vaults/aim/listeners', { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as Doc & { id: string; node: number };
  };
  /** What `inbox` was invoked with, for events of `listener` ('direct' for other payloads). */
  const inbox = async (listener: string): Promise<Doc[]> => {
    const out = await records.send(
      new QueryCommand({
        TableName: fixture.ref('RecordsTable'),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `inbox#${listener}` },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((i) => JSON.parse(String(i.event)) as Doc);
  };

  before(async () => {
    fixtureDir = await tempDir('dsn-lambda-fixture');
    projectDir = await tempDir('dsn-lambda-project');
    crashMark = join(projectDir.path, 'crashed-once');
    fixture = await startTestCloud(FIXTURE_SERVICE, fixtureDir.path);
    project = await startLocalCloud({
      serviceDir: PROJECT_ROOT,
      dataDir: projectDir.path,
      stage: 'test',
      ports: EPHEMERAL_PORTS,
      functionEnvironment: {
        AWS_ENDPOINT_URL_LAMBDA: fixture.endpoints.lambda,
        DSN_LISTENER_CRASH_AT: 'after-delivery',
        DSN_LISTENER_CRASH_MARK: crashMark,
      },
    });
    const region = fixture.service.region;
    lambda = new LambdaClient({
      region,
      credentials: LOCAL_CREDENTIALS,
      endpoint: fixture.endpoints.lambda,
      maxAttempts: 1,
    });
    records = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region,
        credentials: LOCAL_CREDENTIALS,
        endpoint: fixture.endpoints.dynamodb,
      }),
    );
    sqs = new SQSClient({
      region,
      credentials: LOCAL_CREDENTIALS,
      endpoint: project.endpoints.sqs,
    });
    await createVault(api, { name: 'aim', writeThreshold: 5, segmentSize: 64 * 1024 });
  });

  after(async () => {
    lambda?.destroy();
    records?.destroy();
    sqs?.destroy();
    await project?.stop();
    await fixture?.stop();
    await projectDir?.remove();
    await fixtureDir?.remove();
  });

  test('the Lambda API invokes a function by deployed name, short name or ARN; Event answers 202 and runs it after', async () => {
    // Prepare
    const arn = fixture.attribute('inbox', 'Arn');
    assert.match(arn, /^arn:aws:lambda:[^:]+:\d{12}:function:fixture-test-inbox$/);
    const names = ['fixture-test-inbox', 'inbox', arn];

    // Act
    const answers = await Promise.all(
      names.map((FunctionName, i) =>
        lambda.send(
          new InvokeCommand({ FunctionName, Payload: Buffer.from(JSON.stringify({ n: i })) }),
        ),
      ),
    );
    const queued = await lambda.send(
      new InvokeCommand({
        FunctionName: 'inbox',
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ n: 'later' })),
      }),
    );

    // Assess
    answers.forEach((out, i) => {
      assert.equal(out.StatusCode, 200);
      assert.equal(out.FunctionError, undefined);
      assert.deepEqual(JSON.parse(Buffer.from(out.Payload ?? []).toString()), {
        received: { n: i },
      });
    });
    assert.equal(queued.StatusCode, 202);
    assert.equal(Buffer.from(queued.Payload ?? []).length, 0);
    await eventually(
      async () => ((await inbox('direct')).some((e) => e.n === 'later') ? true : undefined),
      'the asynchronous invocation to run',
    );
  });

  test('an unknown function is a 404 ResourceNotFoundException; a function that throws is a 200 with its error', async () => {
    // Act
    const missing = await lambda
      .send(new InvokeCommand({ FunctionName: 'no-such-function', InvocationType: 'Event' }))
      .then(
        () => undefined,
        (err: Error & { $metadata?: { httpStatusCode?: number } }) => err,
      );
    const threw = await lambda.send(
      new InvokeCommand({ FunctionName: 'flaky', Payload: Buffer.from('{"run":"off"}') }),
    );

    // Assess
    assert.equal(missing?.name, 'ResourceNotFoundException');
    assert.equal(missing?.$metadata?.httpStatusCode, 404);
    assert.match(missing?.message ?? '', /Function not found: arn:aws:lambda:.*no-such-function/);
    assert.equal(threw.StatusCode, 200);
    assert.equal(threw.FunctionError, 'Unhandled');
    assert.deepEqual(JSON.parse(Buffer.from(threw.Payload ?? []).toString()), {
      errorType: 'SwitchOffError',
      errorMessage: 'switch for off is off',
    });
  });

  test('a node crashed after delivering, before its batch was acknowledged, delivers the event again with the same id, and loses none', async (t) => {
    // Prepare: a standard queue (a FIFO target would drop the repeat itself).
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'crash-target' })))
      .QueueUrl as string;
    const l = await listen({ path: 'crash/', target: { type: 'sqs', queueUrl } });
    // A crashed batch comes back after its queue's visibility timeout: 1 s here, not 6 minutes.
    // Only for this test: a delivery slower than a second (a cold node) would come twice too.
    const nodeQueues = [0, 1, 2, 3].map((i) => project.ref(`ListenerNode${i}Queue`));
    const timeouts = await Promise.all(
      nodeQueues.map(async (QueueUrl) => {
        const out = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['VisibilityTimeout'] }),
        );
        return out.Attributes?.VisibilityTimeout as string;
      }),
    );
    const setTimeouts = (values: string[]) =>
      Promise.all(
        nodeQueues.map((QueueUrl, i) =>
          sqs.send(
            new SetQueueAttributesCommand({
              QueueUrl,
              Attributes: { VisibilityTimeout: values[i] as string },
            }),
          ),
        ),
      );
    await setTimeouts(nodeQueues.map(() => '1'));
    t.after(() => setTimeouts(timeouts));

    // Act
    const keys = ['crash/1', 'crash/2', 'crash/3'];
    for (const key of keys) {
      const res = await api(`/vaults/aim/objects/${key}`, { method: 'PUT', body: key });
      assert.equal(res.status, 201, await res.clone().text());
    }

    // Assess: every key arrives; the one delivered when the node died arrives twice, same id.
    const got: Doc[] = [];
    await eventually(
      async () => {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
        );
        const messages = out.Messages ?? [];
        for (const m of messages) got.push(JSON.parse(m.Body ?? '{}') as Doc);
        if (messages.length > 0)
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        const seen = new Set(got.map((d) => d.key));
        return keys.every((k) => seen.has(k)) && got.length > keys.length ? true : undefined;
      },
      'every key, and the repeat of the one delivered before the crash',
      60_000,
    );
    const [crashedListener, crashedId] = (await readFile(crashMark, 'utf8')).trim().split(' ');
    assert.equal(crashedListener, l.id, 'the node died after delivering to this listener');
    const repeats = got.filter((d) => d.id === crashedId);
    assert.ok(
      repeats.length >= 2,
      `the event delivered before the crash came again: ${repeats.length}`,
    );
    assert.equal(
      new Set(repeats.map((d) => JSON.stringify(d))).size,
      1,
      'the same document, id and all',
    );
    for (const key of keys) {
      const ofKey = got.filter((d) => d.key === key);
      assert.ok(ofKey.length >= 1, `${key} delivered`);
      assert.equal(new Set(ofKey.map((d) => d.id)).size, 1, `${key}: one event id however often`);
    }
  });

  test('a Lambda target is invoked asynchronously with exactly the event document of a commit', async () => {
    // Prepare
    const l = await listen({
      path: 'fn/',
      target: { type: 'lambda', functionName: 'fixture-test-inbox' },
    });

    // Act
    const res = await api('/vaults/aim/objects/fn/a.txt', { method: 'PUT', body: 'hello' });
    assert.equal(res.status, 201, await res.clone().text());
    const { revision } = (await res.json()) as { revision: string };

    // Assess
    const [doc] = await eventually(
      async () => {
        const got = await inbox(l.id);
        return got.length > 0 ? got : undefined;
      },
      'the inbox function to be invoked',
      30_000,
    );
    assert.deepEqual(Object.keys(doc ?? {}), [
      'id',
      'type',
      'vault',
      'key',
      'revision',
      'size',
      'sha256',
      'sequence',
      'time',
      'listener',
      'matched',
    ]);
    assert.deepEqual(
      { ...doc, id: typeof doc?.id, sequence: typeof doc?.sequence },
      {
        id: 'string',
        type: 'object.committed',
        vault: 'aim',
        key: 'fn/a.txt',
        revision,
        size: 5,
        sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
        sequence: 'number',
        time: doc?.time,
        listener: l.id,
        matched: 'fn/',
      },
    );
    assert.match(String(doc?.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const shown = await eventually(async () => {
      const body = (await (await api(`/vaults/aim/listeners/${l.id}`)).json()) as Doc;
      return body.delivered === 1 ? body : undefined;
    }, 'the delivery count');
    assert.equal(shown.failed, 0);
  });
});

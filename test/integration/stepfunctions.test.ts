import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type StepFunctionsServer, startStepFunctions } from '../../infra/local/stepfunctions.ts';
import { eventually, tempDir } from '../helpers/local-cloud.ts';

const lambda = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

describe('Step Functions endpoint', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: StepFunctionsServer;
  let sfn: SFNClient;
  const calls: string[] = [];
  let gate: (() => void) | undefined;
  const release = () => (gate as (() => void) | undefined)?.();

  const start = () =>
    startStepFunctions({
      port: 0,
      dataDir: dir.path,
      region: 'us-east-1',
      accountId: '000000000000',
      invoke: async (fn, payload) => {
        calls.push(fn);
        if (fn === 'hold') await new Promise<void>((resolve) => (gate = resolve));
        if (fn === 'boom') throw Object.assign(new Error('it broke'), { name: 'BoomError' });
        return { ...(payload as object), [fn]: true };
      },
    });

  before(async () => {
    dir = await tempDir('dsn-sfn');
    server = await start();
    sfn = new SFNClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });

  after(async () => {
    release();
    await server?.stop();
    await dir?.remove();
  });

  const done = (executionArn: string) =>
    eventually(async () => {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return d.status === 'RUNNING' ? undefined : d;
    }, 'the execution to end');

  test("Retry and Catch match the error name a task throws, and the output is the last state's", async () => {
    // Prepare
    const arn = server.createStateMachine('catching', {
      StartAt: 'Boom',
      States: {
        Boom: {
          Type: 'Task',
          Resource: lambda('boom'),
          Retry: [{ ErrorEquals: ['BoomError'], MaxAttempts: 1, IntervalSeconds: 0 }],
          Catch: [{ ErrorEquals: ['BoomError'], Next: 'Recover', ResultPath: '$.error' }],
          End: true,
        },
        Recover: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: lambda('ok'), 'Payload.$': '$' },
          End: true,
        },
      },
    });
    calls.length = 0;

    // Act
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, input: '{"n":1}' }),
    );
    const d = await done(executionArn as string);

    // Assess
    assert.equal(d.status, 'SUCCEEDED');
    assert.deepEqual(calls, ['boom', 'boom', 'ok']);
    const out = JSON.parse(d.output as string);
    assert.equal(out.StatusCode, 200);
    assert.equal(out.Payload.ok, true);
    assert.equal(out.Payload.error.Error, 'BoomError');
  });

  test('StopExecution aborts a running execution; ListExecutions filters by status; history records the states', async () => {
    // Prepare
    const arn = server.createStateMachine('holding', {
      StartAt: 'Hold',
      States: { Hold: { Type: 'Task', Resource: lambda('hold'), End: true } },
    });
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name: 'held-1' }),
    );
    await eventually(async () => (gate ? true : undefined), 'the task to start');

    // Act
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'Operator', cause: 'test' }));
    const aborted = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'ABORTED' }),
    );
    const running = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'RUNNING' }),
    );
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));

    // Assess
    assert.deepEqual(
      aborted.executions?.map((e) => e.name),
      ['held-1'],
    );
    assert.equal(running.executions?.length, 0);
    assert.deepEqual(
      history.events?.map((e) => e.type),
      ['ExecutionStarted', 'TaskStateEntered', 'ExecutionAborted'],
    );
    release();
  });

  test('unknown machines and executions, and redriving a success, are refused with AWS error names', async () => {
    await assert.rejects(
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:none',
        }),
      ),
      { name: 'StateMachineDoesNotExist' },
    );
    await assert.rejects(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: 'arn:aws:states:us-east-1:000000000000:execution:none:x',
        }),
      ),
      { name: 'ExecutionDoesNotExist' },
    );
    const arn = server.createStateMachine('quick', {
      StartAt: 'P',
      States: { P: { Type: 'Pass', End: true } },
    });
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name: 'q1' }),
    );
    await done(executionArn as string);
    await assert.rejects(sfn.send(new RedriveExecutionCommand({ executionArn })), {
      name: 'ExecutionNotRedrivable',
    });
    await assert.rejects(
      sfn.send(
        new StartExecutionCommand({ stateMachineArn: arn, name: 'q1', input: '{"other":1}' }),
      ),
      {
        name: 'ExecutionAlreadyExists',
      },
    );
  });

  test('an execution running when the endpoint stops is failed, kept, and redrivable after a restart', async () => {
    // Prepare
    const arn = server.createStateMachine('interrupted', {
      StartAt: 'Hold',
      States: { Hold: { Type: 'Task', Resource: lambda('hold'), End: true } },
    });
    gate = undefined;
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name: 'cut' }),
    );
    await eventually(async () => (gate ? true : undefined), 'the task to start');

    // Act
    await server.stop();
    release();
    server = await start();
    sfn = new SFNClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const afterRestart = await sfn.send(new DescribeExecutionCommand({ executionArn }));

    // Assess
    assert.equal(afterRestart.status, 'FAILED');
    assert.equal(afterRestart.error, 'States.Runtime');
    assert.equal(afterRestart.redriveStatus, 'REDRIVABLE');
  });
});

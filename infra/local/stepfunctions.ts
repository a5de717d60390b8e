/**
 * Step Functions for the local cloud: a small endpoint speaking the service's own protocol
 * (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Operation>`), so code uses
 * `@aws-sdk/client-sfn` unchanged. `aws-local-stepfunctions` interprets the ASL, its Task states
 * running the service's functions (stepfunctions-tasks.ts); this file keeps state machines and
 * executions (persisted as JSON files, stepfunctions-records.ts) and adds what the interpreter
 * lacks: Describe/List/Stop, history, and RedriveExecution.
 *
 * No Docker-free emulator of this API exists, hence this shim. Its limits:
 * - Task states run Lambda functions of the service (a function ARN, or the
 *   `arn:aws:states:::lambda:invoke` integration); other service integrations fail the task.
 * - Redrive restarts from the top-level state that failed, with the input it had, and does not
 *   rerun the top-level states that succeeded. Inside a failed Map or Parallel state it reruns
 *   that whole state, where AWS reruns only the failed iterations or branches.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { listenLoopback } from './ports.ts';
import { RecordFiles } from './stepfunctions-records.ts';
import { type Definition, type Json, taskHandlers } from './stepfunctions-tasks.ts';

export interface StepFunctionsOptions {
  /** 0 picks a free port. */
  port: number;
  portVariable?: string;
  dataDir: string;
  region: string;
  accountId: string;
  /** Runs a Lambda function of the service; a thrown error's `name` is the task's error. */
  invoke: (functionName: string, payload: unknown) => Promise<unknown>;
  /** Sees the HTTP server before it listens (to put the loopback gate in front). */
  onServer?: (server: import('node:http').Server) => void;
}

export interface StepFunctionsServer {
  url: string;
  port: number;
  /** Creates or updates a state machine (the provisioner's path); returns its ARN. */
  createStateMachine(name: string, definition: object, roleArn?: string): string;
  /** Marks running executions failed (a redrive resumes them); resolves with how many. */
  stop(): Promise<number>;
}

type Status = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

interface MachineRecord {
  stateMachineArn: string;
  name: string;
  definition: string;
  roleArn: string;
  creationDate: number;
}

interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: Status;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
  redriveCount: number;
  redriveDate?: number;
  /** The top-level state running or last entered, with the input it got: where a redrive resumes. */
  resumeAt?: { state: string; input: Json };
  history: HistoryEvent[];
}

class ApiError extends Error {
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.name = type;
    this.status = status;
  }
}

const now = () => Date.now() / 1000;

/** How an execution the process stopped under ends: failed, so that a redrive resumes it. */
const CUT_SHORT = {
  error: 'States.Runtime',
  cause: 'the local cloud stopped while this execution ran; redrive it to resume',
};

export async function startStepFunctions(opts: StepFunctionsOptions): Promise<StepFunctionsServer> {
  const machineFiles = await RecordFiles.open(join(opts.dataDir, 'state-machines'));
  const executionFiles = await RecordFiles.open(join(opts.dataDir, 'executions'));
  const machines = new Map(
    (await machineFiles.load<MachineRecord>()).map((m) => [m.stateMachineArn, m]),
  );
  const executions = new Map(
    (await executionFiles.load<ExecutionRecord>()).map((e) => [e.executionArn, e]),
  );
  const running = new Map<string, () => void>();
  // An execution cannot outlive the process that ran it; mark it so it can be redriven.
  for (const e of executions.values()) {
    if (e.status === 'RUNNING') {
      finish(e, 'FAILED', CUT_SHORT);
    }
  }

  function addEvent(e: ExecutionRecord, type: string, details: Record<string, unknown> = {}) {
    const id = e.history.length + 1;
    e.history.push({ id, previousEventId: id - 1, timestamp: now(), type, ...details });
  }

  function finish(
    e: ExecutionRecord,
    status: Status,
    fields: { output?: string; error?: string; cause?: string },
  ) {
    e.status = status;
    e.stopDate = now();
    Object.assign(e, fields);
    if (status === 'SUCCEEDED')
      addEvent(e, 'ExecutionSucceeded', {
        executionSucceededEventDetails: { output: fields.output },
      });
    else if (status === 'ABORTED')
      addEvent(e, 'ExecutionAborted', {
        executionAbortedEventDetails: { error: fields.error, cause: fields.cause },
      });
    else
      addEvent(e, 'ExecutionFailed', {
        executionFailedEventDetails: { error: fields.error, cause: fields.cause },
      });
    return executionFiles.save(e.executionArn, e);
  }

  function machine(arn: unknown): MachineRecord {
    const m = typeof arn === 'string' ? machines.get(arn) : undefined;
    if (!m)
      throw new ApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${String(arn)}'`,
      );
    return m;
  }

  function execution(arn: unknown): ExecutionRecord {
    const e = typeof arn === 'string' ? executions.get(arn) : undefined;
    if (!e)
      throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(arn)}'`);
    return e;
  }

  function run(e: ExecutionRecord, definition: Definition, input: Json) {
    const handlers = taskHandlers(definition, opts.invoke);
    const topLevel = new Set(Object.keys(definition.States));
    // Validated when created; a redrive's StartAt leaves earlier states unreachable, which
    // the validator would refuse.
    const sm = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
    const handle = sm.run(input, {
      overrides: { taskResourceLocalHandlers: handlers },
      noThrowOnAbort: true,
      context: {
        Execution: {
          Id: e.executionArn,
          Name: e.name,
          Input: JSON.parse(e.input),
          StartTime: new Date(e.startDate * 1000).toISOString(),
        },
      },
    });
    running.set(e.executionArn, () => handle.abort());
    void (async () => {
      for await (const event of handle.eventLogs) {
        const ev = event as {
          type: string;
          state?: { name: string; type: string; input: Json; output?: Json };
          index?: number;
        };
        if (
          ev.type === 'StateEntered' &&
          ev.state &&
          ev.index === undefined &&
          topLevel.has(ev.state.name)
        ) {
          e.resumeAt = { state: ev.state.name, input: ev.state.input };
          addEvent(e, `${ev.state.type}StateEntered`, {
            stateEnteredEventDetails: {
              name: ev.state.name,
              input: JSON.stringify(ev.state.input),
            },
          });
        } else if (
          ev.type === 'StateExited' &&
          ev.state &&
          ev.index === undefined &&
          topLevel.has(ev.state.name)
        ) {
          addEvent(e, `${ev.state.type}StateExited`, {
            stateExitedEventDetails: {
              name: ev.state.name,
              output: JSON.stringify(ev.state.output),
            },
          });
        }
      }
    })();
    handle.result.then(
      async (output) => {
        running.delete(e.executionArn);
        if (e.status !== 'RUNNING') return;
        await finish(e, 'SUCCEEDED', { output: JSON.stringify(output) });
      },
      async (err: Error & { cause?: { name?: string; message?: string } }) => {
        running.delete(e.executionArn);
        if (e.status !== 'RUNNING') return;
        // The interpreter wraps the state's error; its cause carries the name Retry/Catch matched on.
        const inner = err.cause instanceof Error ? err.cause : err;
        await finish(e, 'FAILED', { error: inner.name, cause: inner.message });
      },
    );
  }

  const operations: Record<string, (body: Record<string, unknown>) => Promise<unknown> | unknown> =
    {
      CreateStateMachine: (b) => {
        const arn = create(
          String(b.name),
          JSON.parse(String(b.definition)),
          String(b.roleArn ?? ''),
          true,
        );
        return { stateMachineArn: arn, creationDate: machines.get(arn)?.creationDate };
      },
      DescribeStateMachine: (b) => {
        const m = machine(b.stateMachineArn);
        return { ...m, status: 'ACTIVE', type: 'STANDARD' };
      },
      ListStateMachines: () => ({
        stateMachines: [...machines.values()].map((m) => ({
          stateMachineArn: m.stateMachineArn,
          name: m.name,
          type: 'STANDARD',
          creationDate: m.creationDate,
        })),
      }),
      DeleteStateMachine: async (b) => {
        const m = machine(b.stateMachineArn);
        machines.delete(m.stateMachineArn);
        await machineFiles.save(m.stateMachineArn, { ...m, deleted: true });
        return {};
      },
      StartExecution: async (b) => {
        const m = machine(b.stateMachineArn);
        const name = typeof b.name === 'string' ? b.name : randomUUID();
        if (!/^[A-Za-z0-9_-]{1,80}$/.test(name))
          throw new ApiError('InvalidName', `Invalid Name: '${name}'`);
        const input = typeof b.input === 'string' ? b.input : '{}';
        let parsed: Json;
        try {
          parsed = JSON.parse(input);
        } catch {
          throw new ApiError(
            'InvalidExecutionInput',
            'Invalid State Machine Execution Input: input is not JSON',
          );
        }
        const executionArn = `${m.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
        const existing = executions.get(executionArn);
        if (existing) {
          // AWS returns the same execution for a repeated name and input while it runs.
          if (existing.status === 'RUNNING' && existing.input === input)
            return { executionArn, startDate: existing.startDate };
          throw new ApiError(
            'ExecutionAlreadyExists',
            `Execution Already Exists: '${executionArn}'`,
          );
        }
        const e: ExecutionRecord = {
          executionArn,
          stateMachineArn: m.stateMachineArn,
          name,
          status: 'RUNNING',
          input,
          startDate: now(),
          redriveCount: 0,
          history: [],
        };
        addEvent(e, 'ExecutionStarted', {
          executionStartedEventDetails: { input, roleArn: m.roleArn },
        });
        executions.set(executionArn, e);
        await executionFiles.save(executionArn, e);
        run(e, JSON.parse(m.definition), parsed);
        return { executionArn, startDate: e.startDate };
      },
      DescribeExecution: (b) => {
        const { history: _h, resumeAt: _r, ...e } = execution(b.executionArn);
        const redrivable =
          e.status === 'FAILED' || e.status === 'ABORTED' || e.status === 'TIMED_OUT';
        return { ...e, redriveStatus: redrivable ? 'REDRIVABLE' : 'NOT_REDRIVABLE' };
      },
      StopExecution: async (b) => {
        const e = execution(b.executionArn);
        if (e.status !== 'RUNNING') return { stopDate: e.stopDate };
        running.get(e.executionArn)?.();
        await finish(e, 'ABORTED', {
          error: b.error as string | undefined,
          cause: b.cause as string | undefined,
        });
        return { stopDate: e.stopDate };
      },
      ListExecutions: (b) => {
        const m = machine(b.stateMachineArn);
        const all = [...executions.values()]
          .filter(
            (e) =>
              e.stateMachineArn === m.stateMachineArn &&
              (!b.statusFilter || e.status === b.statusFilter),
          )
          .sort((a, c) => c.startDate - a.startDate);
        const start = typeof b.nextToken === 'string' ? Number(b.nextToken) : 0;
        const max = typeof b.maxResults === 'number' && b.maxResults > 0 ? b.maxResults : 100;
        const page = all.slice(start, start + max);
        return {
          executions: page.map((e) => ({
            executionArn: e.executionArn,
            stateMachineArn: e.stateMachineArn,
            name: e.name,
            status: e.status,
            startDate: e.startDate,
            stopDate: e.stopDate,
            redriveCount: e.redriveCount,
          })),
          nextToken: start + max < all.length ? String(start + max) : undefined,
        };
      },
      GetExecutionHistory: (b) => {
        const events = [...execution(b.executionArn).history];
        if (b.reverseOrder === true) events.reverse();
        const start = typeof b.nextToken === 'string' ? Number(b.nextToken) : 0;
        const max = typeof b.maxResults === 'number' && b.maxResults > 0 ? b.maxResults : 1000;
        return {
          events: events.slice(start, start + max),
          nextToken: start + max < events.length ? String(start + max) : undefined,
        };
      },
      RedriveExecution: async (b) => {
        const e = execution(b.executionArn);
        if (e.status === 'RUNNING' || e.status === 'SUCCEEDED' || !e.resumeAt) {
          throw new ApiError(
            'ExecutionNotRedrivable',
            `Execution ${e.executionArn} is ${e.status} and cannot be redriven`,
          );
        }
        const m = machine(e.stateMachineArn);
        const definition = JSON.parse(m.definition) as Definition;
        const { state, input } = e.resumeAt;
        e.status = 'RUNNING';
        e.redriveCount += 1;
        e.redriveDate = now();
        for (const field of ['output', 'error', 'cause', 'stopDate'] as const) delete e[field];
        addEvent(e, 'ExecutionRedriven', {
          executionRedrivenEventDetails: { redriveCount: e.redriveCount },
        });
        await executionFiles.save(e.executionArn, e);
        run(e, { ...definition, StartAt: state }, input);
        return { redriveDate: e.redriveDate };
      },
    };

  function create(name: string, definition: object, roleArn: string, strict: boolean): string {
    const stateMachineArn = `arn:aws:states:${opts.region}:${opts.accountId}:stateMachine:${name}`;
    const text = JSON.stringify(definition);
    try {
      new StateMachine(definition as never, {
        validationOptions: { checkArn: false, checkPaths: false },
      });
    } catch (err) {
      throw new ApiError(
        'InvalidDefinition',
        `Invalid State Machine Definition: ${(err as Error).message}`,
      );
    }
    const existing = machines.get(stateMachineArn);
    if (existing && existing.definition !== text && strict) {
      throw new ApiError(
        'StateMachineAlreadyExists',
        `State Machine Already Exists: '${stateMachineArn}'`,
      );
    }
    if (!existing || existing.definition !== text) {
      const record = {
        stateMachineArn,
        name,
        definition: text,
        roleArn,
        creationDate: existing?.creationDate ?? now(),
      };
      machines.set(stateMachineArn, record);
      void machineFiles.save(stateMachineArn, record);
    }
    return stateMachineArn;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = operations[target.replace(/^AWSStepFunctions\./, '')];
      if (!target.startsWith('AWSStepFunctions.') || !op)
        throw new ApiError('UnknownOperationException', `unsupported operation ${target}`);
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      send(200, (await op(body)) ?? {});
    } catch (err) {
      const e =
        err instanceof ApiError
          ? err
          : new ApiError('InternalFailure', (err as Error).message, 500);
      send(e.status, { __type: e.name, message: e.message });
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  opts.onServer?.(server);
  const port = await listenLoopback(server, opts.port, opts.portVariable ?? 'DSN_SFN_PORT');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    createStateMachine: (name, definition, roleArn = '') =>
      create(name, definition, roleArn, false),
    async stop() {
      let stopped = 0;
      for (const e of executions.values()) {
        if (e.status !== 'RUNNING') continue;
        stopped++;
        running.get(e.executionArn)?.();
        await finish(e, 'FAILED', CUT_SHORT);
      }
      await Promise.all([machineFiles.flushed(), executionFiles.flushed()]);
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return stopped;
    },
  };
}

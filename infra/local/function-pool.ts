/**
 * The execution environments of one function: worker threads, each a warm sandbox with the
 * function's own environment variables, its declared timeout (the worker is discarded when it
 * runs over, as Lambda discards the sandbox) and a realistic `context`. The Invoker
 * (invoker.ts) routes invocations to the pools by name or ARN.
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import type { ServiceFunction } from './service.ts';

const WORKER_PATH = fileURLToPath(new URL('./lambda-worker.ts', import.meta.url));

/**
 * The nice value of a background function's sandbox threads (Linux, where it is per thread). On
 * AWS each execution environment has CPU of its own; here every function shares this machine's
 * cores, and a re-stripe at full speed starved the reads users wait on. bench:topology (256 MiB
 * re-stripe, 2 lanes): foreground read p99 2.3x of before with it, 3.0x without; with one lane
 * (mover.ts LANES) 1.5x-1.9x with it, 3.2x without.
 */
export const BACKGROUND_NICE = 10;

/**
 * The JavaScript heap of a function of `memorySize` MB, as Lambda's Node.js runtime sizes it:
 * its bootstrap starts node with `--max-semi-space-size` a twentieth of the memory and
 * `--max-old-space-size` the memory less a tenth. A worker thread takes the same limits as
 * generation sizes; V8's young generation is three semi-spaces. So a handler that outgrows its
 * memory fails here (`Runtime.ExitError`, its sandbox gone) as it does on AWS, rather than
 * growing to this machine's default heap. Buffers outside the heap are not counted here; on AWS
 * the sandbox's whole memory is.
 *
 * Off unless asked (`lambdaHeaps`, `DSN_HEAP_LIMITS=lambda`): with some thirty sandboxes on two
 * shared cores, the tighter heaps' extra collections raised bench:dsn's small-PUT p50 from 76 to
 * 93-102 ms (three runs, old space alone 93 ms), past its target, where on AWS each sandbox
 * collects on CPU of its own.
 */
export function lambdaHeapLimits(memorySize: number): ResourceLimits {
  return {
    maxOldGenerationSizeMb: memorySize - Math.floor(memorySize / 10),
    maxYoungGenerationSizeMb: 3 * Math.floor(memorySize / 20),
  };
}

/** A handler failed, timed out or could not load; `name` is the Lambda error type. */
export class LambdaInvocationError extends Error {
  readonly functionName: string;
  constructor(functionName: string, name: string, message: string, stack?: string) {
    super(message);
    this.name = name;
    this.functionName = functionName;
    if (stack) this.stack = stack;
  }
}

export interface InvokerOptions {
  region: string;
  accountId: string;
  /** Environment of every function, before its own variables. */
  environmentFor: (fn: ServiceFunction) => Record<string, string>;
  /** Sizes each sandbox's heap from its function's memory, as Lambda does (lambdaHeapLimits). */
  lambdaHeaps?: boolean;
  /** Concurrent executions per function (Lambda's reserved concurrency). */
  maxConcurrency?: number;
  /** Where each sandbox writes CPU profiles of itself (sandbox-profile.ts); none unless set. */
  profileDir?: string;
  log?: (functionName: string, line: string) => void;
}

/** Where a response-streaming invocation's prelude and body go (a function URL's answer). */
export interface ResponseSink {
  /** The status and headers, before any chunk. */
  head(prelude: {
    statusCode?: number;
    headers?: Record<string, string>;
    cookies?: string[];
  }): void;
  /** Settles once the client took the chunk; rejects when it has gone. */
  write(chunk: Uint8Array): Promise<void>;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  sink?: ResponseSink;
}

interface Sandbox {
  worker: Worker;
  ready: Promise<void>;
  pending?: Pending & { id: number };
  /** Its worker has exited: an invocation handed to it would wait for an answer forever. */
  exited?: boolean;
  /** The pool's configuration it was started with (FunctionPool.configure). */
  generation: number;
}

export class FunctionPool {
  readonly fn: ServiceFunction;
  private readonly opts: InvokerOptions;
  private readonly idle: Sandbox[] = [];
  private readonly all = new Set<Sandbox>();
  private readonly waiting: Array<() => void> = [];
  private nextId = 1;
  /** Refusing new invocations (the cloud is stopping). */
  private stopped = false;
  /** Its execution environments are being terminated. */
  private terminating = false;
  /** Invocations holding an execution environment, cold starts included. */
  private running = 0;
  private readonly whenIdle: Array<() => void> = [];
  /** Environment variables set since start (`configure`), over the function's own. */
  private readonly overrides: Record<string, string> = {};
  /** Raised by each `configure`: a sandbox of an older one is not used again. */
  private generation = 0;

  constructor(fn: ServiceFunction, opts: InvokerOptions) {
    this.fn = fn;
    this.opts = opts;
  }

  get arn(): string {
    return `arn:aws:lambda:${this.opts.region}:${this.opts.accountId}:function:${this.fn.name}`;
  }

  private spawn(): Sandbox {
    const env = {
      ...this.opts.environmentFor(this.fn),
      ...this.overrides,
      AWS_LAMBDA_FUNCTION_NAME: this.fn.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this.fn.memorySize),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_REGION: this.opts.region,
      AWS_DEFAULT_REGION: this.opts.region,
    };
    const worker = new Worker(WORKER_PATH, {
      // The thread's name, its function's key (`top -H` and /proc/<pid>/task/*/comm show 15
      // characters): whose CPU a thread spends.
      name: this.fn.key,
      workerData: {
        modulePath: this.fn.modulePath,
        exportName: this.fn.exportName,
        functionName: this.fn.name,
        memorySize: this.fn.memorySize,
        invokedFunctionArn: this.arn,
        nice: this.fn.background ? BACKGROUND_NICE : 0,
        profileDir: this.opts.profileDir,
      },
      env,
      ...(this.opts.lambdaHeaps ? { resourceLimits: lambdaHeapLimits(this.fn.memorySize) } : {}),
      stdout: true,
      stderr: true,
    });
    const log = this.opts.log;
    for (const stream of [worker.stdout, worker.stderr]) {
      if (log) createInterface({ input: stream }).on('line', (line) => log(this.fn.name, line));
      else stream.resume();
    }
    const sandbox: Sandbox = {
      worker,
      generation: this.generation,
      // A worker terminated while it loads (the cloud stopping during a cold start) exits
      // without an error: that too must fail the invocation waiting for it, or the invocation
      // never settles and neither does whatever awaits it (an SQS poller, and so the stop).
      ready: new Promise((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
        worker.once('exit', () =>
          reject(this.exitError('the execution environment exited before it was ready')),
        );
      }),
    };
    worker.on(
      'message',
      (msg: {
        id?: number;
        ok?: boolean;
        value?: unknown;
        /** A handler's result as JSON text (what the runtime sends), parsed here. */
        json?: string;
        error?: Record<string, string>;
        head?: Parameters<ResponseSink['head']>[0];
        chunk?: Uint8Array;
      }) => {
        const pending = sandbox.pending;
        if (msg.id === undefined || !pending || pending.id !== msg.id) return;
        if (msg.head !== undefined) {
          pending.sink?.head(msg.head);
          return;
        }
        if (msg.chunk !== undefined) {
          // The next chunk comes once this one is acknowledged: the worker waits for the client.
          const id = msg.id;
          const written = pending.sink ? pending.sink.write(msg.chunk) : Promise.resolve();
          written.then(
            () => worker.postMessage({ ack: id }),
            (err: Error) => worker.postMessage({ ack: id, error: err.message }),
          );
          return;
        }
        sandbox.pending = undefined;
        clearTimeout(pending.timer);
        if (msg.ok) pending.resolve(msg.json === undefined ? msg.value : JSON.parse(msg.json));
        else {
          const e = msg.error ?? {};
          pending.reject(
            new LambdaInvocationError(this.fn.name, e.name ?? 'Error', e.message ?? '', e.stack),
          );
        }
        this.release(sandbox);
      },
    );
    const onExit = (err?: Error) => {
      sandbox.exited = true;
      this.all.delete(sandbox);
      const i = this.idle.indexOf(sandbox);
      if (i >= 0) this.idle.splice(i, 1);
      const pending = sandbox.pending;
      if (pending) {
        sandbox.pending = undefined;
        clearTimeout(pending.timer);
        pending.reject(
          this.exitError(`the execution environment exited${err ? `: ${err.message}` : ''}`),
        );
      }
      this.waiting.shift()?.();
    };
    worker.on('error', onExit);
    worker.on('exit', () => onExit());
    this.all.add(sandbox);
    return sandbox;
  }

  /** An invocation's failure when its worker exited: `message`, unless the cloud is stopping. */
  private exitError(message: string): LambdaInvocationError {
    return new LambdaInvocationError(
      this.fn.name,
      'Runtime.ExitError',
      this.terminating ? 'the local cloud stopped during this invocation' : message,
    );
  }

  private release(sandbox: Sandbox): void {
    if (this.stopped) return;
    // Started before the last `configure`: retired (its exit wakes a waiter).
    if (sandbox.generation !== this.generation) {
      void sandbox.worker.terminate();
      return;
    }
    const next = this.waiting.shift();
    this.idle.push(sandbox);
    next?.();
  }

  private async acquire(): Promise<Sandbox> {
    for (;;) {
      if (this.stopped)
        throw new LambdaInvocationError(
          this.fn.name,
          'Runtime.Stopped',
          'the local cloud is stopping',
        );
      const sandbox = this.idle.pop();
      if (sandbox) return sandbox;
      if (this.all.size < (this.opts.maxConcurrency ?? 10)) return this.spawn();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  async invoke(event: unknown, sink?: ResponseSink): Promise<unknown> {
    const sandbox = await this.acquire();
    this.running++;
    try {
      await sandbox.ready;
      return await this.run(sandbox, event, sink);
    } finally {
      this.running--;
      if (this.running === 0) for (const wake of this.whenIdle.splice(0)) wake();
    }
  }

  private run(sandbox: Sandbox, event: unknown, sink?: ResponseSink): Promise<unknown> {
    // A worker that posts "ready" and is terminated at once delivers both in one go: `ready`
    // resolves, and the exit is handled before this runs, with no invocation yet to fail.
    if (sandbox.exited) {
      return Promise.reject(
        this.exitError('the execution environment exited before the invocation started'),
      );
    }
    const timeoutMs = this.fn.timeoutSeconds * 1000;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sandbox.pending = undefined;
        reject(
          new LambdaInvocationError(
            this.fn.name,
            'Sandbox.Timedout',
            `Task timed out after ${this.fn.timeoutSeconds.toFixed(2)} seconds`,
          ),
        );
        void sandbox.worker.terminate();
      }, timeoutMs);
      sandbox.pending = { id, resolve, reject, timer, sink };
      sandbox.worker.postMessage({
        id,
        event,
        deadline: Date.now() + timeoutMs,
        requestId: randomUUID(),
      });
    });
  }

  /**
   * Sets (a string) or removes (undefined) environment variables of the function, as Lambda's
   * UpdateFunctionConfiguration does: invocations from now on run in new execution
   * environments; those in flight finish where they are, and their environments are retired.
   */
  configure(env: Record<string, string | undefined>): void {
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete this.overrides[name];
      else this.overrides[name] = value;
    }
    this.generation++;
    for (const sandbox of this.idle.splice(0)) void sandbox.worker.terminate();
  }

  /** Invocations in flight. */
  get inFlight(): number {
    return this.running;
  }

  /** Refuses new invocations from now on; those waiting for an environment fail at once. */
  drain(): void {
    this.stopped = true;
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** Settles when no invocation is in flight. */
  settled(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenIdle.push(resolve));
  }

  /** Terminates every execution environment; resolves with the invocations that cut short. */
  async stop(): Promise<number> {
    this.drain();
    this.terminating = true;
    const cut = this.running;
    await Promise.all([...this.all].map((s) => s.worker.terminate()));
    return cut;
  }
}

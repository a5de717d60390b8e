/**
 * The Lambda runtime inside one worker thread: loads a handler module once (a warm sandbox)
 * and runs one invocation at a time, as a Lambda execution environment does.
 *
 * Response streaming: like the Node.js runtime, it provides the global `awslambda`, whose
 * `streamifyResponse` marks a handler `(event, responseStream, context)`, and whose
 * `HttpResponseStream.from` sets the status and headers (the prelude) before the body. The
 * stream's chunks go to the invoker one at a time, each acknowledged once the client took it,
 * so a handler writing faster than its client reads waits, and memory stays bounded.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { enableCompileCache, flushCompileCache } from 'node:module';
import { setPriority } from 'node:os';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { profileSandbox } from './sandbox-profile.ts';

interface WorkerConfig {
  modulePath: string;
  exportName: string;
  functionName: string;
  memorySize: number;
  invokedFunctionArn: string;
  /** The thread's nice value: above 0 for a background function (function-pool.ts). */
  nice: number;
  /** Where this sandbox writes its CPU profiles, when asked (sandbox-profile.ts). */
  profileDir?: string;
}

interface InvokeMessage {
  id: number;
  event: unknown;
  deadline: number;
  requestId: string;
}

type Handler = (event: unknown, context: unknown, callback?: unknown) => unknown;

const config = workerData as WorkerConfig;
const port = parentPort;
if (!port) throw new Error('lambda-worker must run in a worker thread');
// Linux keeps a nice value per thread (setpriority(2)), so this lowers this sandbox only; other
// systems apply it to the whole process, so there it is left alone.
if (config.nice > 0 && process.platform === 'linux') setPriority(config.nice);
await profileSandbox(config.profileDir, config.functionName);

/** The Node.js runtime's mark of a response-streaming handler. */
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');

interface Prelude {
  statusCode?: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

/** Acknowledgements awaited, by invocation id: one chunk of each is in flight at most. */
const acks = new Map<number, (error?: Error) => void>();

/** The response stream of one invocation: its prelude and chunks, posted to the invoker. */
class ResponseStream extends Writable {
  readonly id: number;
  private headSent = false;

  constructor(id: number) {
    super();
    this.id = id;
  }

  /** The status and headers, once, before any byte; a stream with none answers 200. */
  head(prelude: Prelude = {}): void {
    if (this.headSent) return;
    this.headSent = true;
    port?.postMessage({ id: this.id, head: prelude });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error) => void): void {
    this.head();
    // A copy of just these bytes: a view's whole buffer would otherwise be cloned.
    const bytes = new Uint8Array(chunk);
    acks.set(this.id, done);
    port?.postMessage({ id: this.id, chunk: bytes }, [bytes.buffer]);
  }

  override _final(done: (error?: Error) => void): void {
    this.head();
    done();
  }
}

(globalThis as Record<string, unknown>).awslambda = {
  streamifyResponse: (fn: Handler) => Object.assign(fn, { [STREAMING]: 'response' }),
  HttpResponseStream: {
    from(stream: ResponseStream, prelude: Prelude): ResponseStream {
      stream.head(prelude);
      return stream;
    },
  },
};

function serializeError(err: unknown, fallbackName: string) {
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name === 'Error' ? fallbackName : e.name, message: e.message, stack: e.stack };
}

/** Lambda's limit on a synchronous invocation's response, as its error message states it. */
const MAX_RESPONSE_BYTES = 6_291_556;

let handler: Handler | undefined;
let initError: ReturnType<typeof serializeError> | undefined;
// Node's on-disk V8 code cache (under the OS's temporary folder, or NODE_COMPILE_CACHE): every
// sandbox loads the same modules (the SDK above all), and compiling them again in each one was
// about 40% of a cold start's CPU here. It changes nothing a handler sees; a cache that cannot
// be used is skipped quietly (NODE_DISABLE_COMPILE_CACHE=1 turns it off).
enableCompileCache();
try {
  const mod = (await import(pathToFileURL(config.modulePath).href)) as Record<string, unknown>;
  // Written now, not at the process's exit: a sandbox is often terminated, never exited.
  flushCompileCache();
  const exported = mod[config.exportName];
  if (typeof exported !== 'function') {
    initError = {
      name: 'Runtime.HandlerNotFound',
      message: `${config.modulePath} does not export a function "${config.exportName}"`,
      stack: undefined,
    };
  } else {
    handler = exported as Handler;
  }
} catch (err) {
  initError = serializeError(err, 'Runtime.ImportModuleError');
}

function runHandler(fn: Handler, event: unknown, context: unknown): Promise<unknown> {
  // Callback-style handlers (three parameters) are still valid Lambda handlers.
  if (fn.length >= 3) {
    return new Promise((resolve, reject) => {
      const result = fn(event, context, (err: unknown, value: unknown) =>
        err ? reject(err) : resolve(value),
      ) as Promise<unknown> | undefined;
      if (result && typeof result.then === 'function') result.then(resolve, reject);
    });
  }
  return Promise.resolve(fn(event, context));
}

/** Runs a streaming handler; done once it returned and its stream ended (ended for it if not). */
async function runStreaming(fn: Handler, msg: InvokeMessage, context: unknown): Promise<null> {
  const stream = new ResponseStream(msg.id);
  try {
    await fn(msg.event, stream, context);
  } finally {
    if (!stream.writableEnded && !stream.destroyed) stream.end();
  }
  if (!stream.writableFinished && !stream.destroyed) await once(stream, 'finish');
  return null;
}

port.on('message', async (msg: InvokeMessage | { ack: number; error?: string }) => {
  if ('ack' in msg) {
    const done = acks.get(msg.ack);
    acks.delete(msg.ack);
    done?.(msg.error === undefined ? undefined : new Error(msg.error));
    return;
  }
  if (!handler) {
    port.postMessage({ id: msg.id, ok: false, error: initError });
    return;
  }
  const context = {
    functionName: config.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: config.invokedFunctionArn,
    memoryLimitInMB: String(config.memorySize),
    awsRequestId: msg.requestId,
    logGroupName: `/aws/lambda/${config.functionName}`,
    logStreamName: `local/${randomUUID()}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
  };
  try {
    if (STREAMING in handler) {
      await runStreaming(handler, msg, context);
      port.postMessage({ id: msg.id, ok: true, value: null });
      return;
    }
    const value = await runHandler(handler, msg.event, context);
    // As the runtime sends it: JSON (a Buffer becomes {"type":"Buffer",...}, a Date a string),
    // held to the synchronous response limit.
    const text = JSON.stringify(value === undefined ? null : value) ?? 'null';
    if (Buffer.byteLength(text) > MAX_RESPONSE_BYTES) {
      port.postMessage({
        id: msg.id,
        ok: false,
        error: {
          name: 'Function.ResponseSizeTooLarge',
          message: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
        },
      });
      return;
    }
    // The text goes, parsed once on the other side: a string crosses the thread as one copy.
    port.postMessage({ id: msg.id, ok: true, json: text });
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: serializeError(err, 'Error') });
  }
});
port.postMessage({ ready: true });

/**
 * The Lambda runtime inside one worker thread: loads a handler module once (a warm sandbox)
 * and runs one invocation at a time, as a Lambda execution environment does.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

interface WorkerConfig {
  modulePath: string;
  exportName: string;
  functionName: string;
  memorySize: number;
  invokedFunctionArn: string;
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

function serializeError(err: unknown, fallbackName: string) {
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name === 'Error' ? fallbackName : e.name, message: e.message, stack: e.stack };
}

let handler: Handler | undefined;
let initError: ReturnType<typeof serializeError> | undefined;
try {
  const mod = (await import(pathToFileURL(config.modulePath).href)) as Record<string, unknown>;
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

port.on('message', async (msg: InvokeMessage) => {
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
    const value = await runHandler(handler, msg.event, context);
    port.postMessage({ id: msg.id, ok: true, value: value === undefined ? null : value });
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: serializeError(err, 'Error') });
  }
});
port.postMessage({ ready: true });

/**
 * The Lambda API's Invoke for the local cloud: `POST /2015-03-31/functions/{FunctionName}/
 * invocations`, as `@aws-sdk/client-lambda` sends it, running the service's own functions
 * through the invoker. A function (a listener's Lambda target) reaches it through
 * AWS_ENDPOINT_URL_LAMBDA. What AWS does and this does too:
 *
 * - `X-Amz-Invocation-Type: Event` answers 202 at once and runs the function afterwards; a
 *   failure is logged (AWS would retry twice, then drop it or send it to a failure destination);
 * - `RequestResponse` (the default) answers 200 with what the handler returned, or 200 with
 *   `X-Amz-Function-Error: Unhandled` and `{"errorType","errorMessage"}` when it threw;
 * - `DryRun` answers 204 for a function that exists;
 * - an unknown function is a 404 `ResourceNotFoundException`, in the AWS JSON error shape.
 *
 * The function is named as deployed (`service-stage-name`), by its key in serverless.yml, or by
 * its ARN (a qualifier is accepted and ignored: there is one version, `$LATEST`). Other Lambda
 * operations are not emulated (404 `UnknownOperationException`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LAMBDA_MAX_REQUEST } from './http-api.ts';
import { readBody, sendJson } from './http-body.ts';
import { listenLoopback } from './ports.ts';

export interface LambdaApiOptions {
  /** 0 picks a free port. */
  port: number;
  portVariable: string;
  /** Whether the service has this function (by key, deployed name or ARN). */
  has(functionName: string): boolean;
  /** Runs it; a thrown error's `name` is the Lambda error type. */
  invoke(functionName: string, payload: unknown): Promise<unknown>;
  /** The ARN AWS would name an unknown function by, for its 404's message. */
  arnOf(functionName: string): string;
  /** Failures of asynchronous invocations, which no caller is waiting to hear about. */
  log(line: string): void;
  /** Sees the HTTP server before it listens (to put the loopback gate in front). */
  onServer?: (server: Server) => void;
}

export interface LambdaApi {
  url: string;
  port: number;
  /** Asynchronous invocations accepted and still running. */
  readonly running: number;
  /** Closes the server (its connections were ended by the gate's cut). */
  stop(): Promise<void>;
}

const INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Invoke's payload limit for a synchronous call (6 MB); larger bodies are refused unread. */
const MAX_PAYLOAD_BYTES = LAMBDA_MAX_REQUEST;
/** Invoke's payload limit for an asynchronous call (`Event`): 1 MB. */
const MAX_EVENT_PAYLOAD_BYTES = 1024 * 1024;

/** An error in the shape the SDK's REST-JSON protocol reads: the type in a header and the body. */
export function sendLambdaError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
): void {
  sendJson(
    res,
    status,
    { Type: status < 500 ? 'User' : 'Service', message },
    { 'x-amzn-errortype': type },
  );
}

/** The error document Lambda returns for a function that threw. */
function functionError(err: unknown): { errorType: string; errorMessage: string } {
  const e = err as { name?: string; message?: string };
  return { errorType: e?.name ?? 'Error', errorMessage: e?.message ?? String(err) };
}

export async function startLambdaApi(opts: LambdaApiOptions): Promise<LambdaApi> {
  let running = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = INVOKE.exec(path);
    if (req.method !== 'POST' || !route) {
      req.resume();
      return sendLambdaError(
        res,
        404,
        'UnknownOperationException',
        `the local cloud emulates only Invoke, not ${req.method} ${path}`,
      );
    }
    const name = decodeURIComponent(route[1] as string);
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (!['Event', 'RequestResponse', 'DryRun'].includes(type)) {
      req.resume();
      return sendLambdaError(
        res,
        400,
        'InvalidParameterValueException',
        `X-Amz-Invocation-Type must be Event, RequestResponse or DryRun, got "${type}"`,
      );
    }
    if (!opts.has(name)) {
      req.resume();
      return sendLambdaError(
        res,
        404,
        'ResourceNotFoundException',
        `Function not found: ${opts.arnOf(name)}`,
      );
    }
    const raw = await readBody(req, MAX_PAYLOAD_BYTES);
    if (raw === undefined)
      return sendLambdaError(
        res,
        413,
        'RequestTooLargeException',
        `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
      );
    // An asynchronous invocation's payload is held to 1 MB (a synchronous one's to 6 MB).
    if (type === 'Event' && raw.length > MAX_EVENT_PAYLOAD_BYTES)
      return sendLambdaError(
        res,
        413,
        'RequestTooLargeException',
        `Request must be smaller than ${MAX_EVENT_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
      );
    let payload: unknown = {};
    if (raw.length > 0) {
      try {
        payload = JSON.parse(raw.toString('utf8'));
      } catch {
        return sendLambdaError(
          res,
          400,
          'InvalidRequestContentException',
          'Could not parse request body into json',
        );
      }
    }
    if (type === 'DryRun') {
      res.writeHead(204).end();
      return;
    }
    if (type === 'Event') {
      running++;
      opts
        .invoke(name, payload)
        .catch((err) => {
          const e = functionError(err);
          opts.log(`asynchronous invocation of ${name} failed: ${e.errorType}: ${e.errorMessage}`);
        })
        .finally(() => {
          running--;
        });
      res.writeHead(202, { 'content-length': '0' }).end();
      return;
    }
    let body: string;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amz-executed-version': '$LATEST',
    };
    try {
      body = JSON.stringify((await opts.invoke(name, payload)) ?? null);
    } catch (err) {
      body = JSON.stringify(functionError(err));
      headers['x-amz-function-error'] = 'Unhandled';
    }
    res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendLambdaError(res, 500, 'ServiceException', err.message);
      else res.destroy();
    });
  });
  opts.onServer?.(server);
  const port = await listenLoopback(server, opts.port, opts.portVariable);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get running() {
      return running;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

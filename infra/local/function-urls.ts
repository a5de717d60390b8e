/**
 * Lambda function URLs: each function that declares `url:` in serverless.yml gets its own HTTP
 * server on a loopback port, as each gets its own host on AWS (`https://<id>.lambda-url...`),
 * so a handler sees the same `rawPath`. The event is payload format 2.0 with the `$default`
 * route. In `RESPONSE_STREAM` mode the handler's prelude and chunks go out as it writes them,
 * one chunk in flight at a time (function-pool.ts), so a large read streams in bounded memory; in
 * `BUFFERED` mode the result is written as the HTTP API writes one. A URL with `cors` answers
 * preflights itself, without invoking the function, and sets the `Access-Control-*` headers on
 * the answers to the origins it allows, as Lambda does.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { buildEvent, LAMBDA_MAX_REQUEST, writeProxyResult } from './http-api.ts';
import { readBody, sendJson } from './http-body.ts';
import type { Invoker, ResponseSink } from './invoker.ts';
import { listenLoopback } from './ports.ts';
import { functionLogicalId, LOCAL_ACCOUNT_ID, type ProvisionedStack } from './provision.ts';
import { gateServer, type ServerGate, sendApiError } from './server-gate.ts';
import type { FunctionUrlCors, ResolvedService, ServiceFunction } from './service.ts';
import type { Shutdown } from './shutdown.ts';

export interface FunctionUrlOptions {
  accountId: string;
  invoke(functionKey: string, event: unknown): Promise<unknown>;
  invokeStreaming(functionKey: string, event: unknown, sink: ResponseSink): Promise<unknown>;
  log?: (line: string) => void;
}

export interface FunctionUrlHandle {
  functionKey: string;
  /** As AWS gives `FunctionUrl`: with a trailing `/`. */
  url: string;
  server: Server;
  stop(): Promise<void>;
}

/** Lambda's answer when the function fails before any byte went out. */
function lambdaError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { Message: message });
}

/** A sink writing a streamed invocation to `res`, waiting for the client at each chunk. */
function responseSink(res: ServerResponse): ResponseSink {
  const gone = new Promise<never>((_, reject) => {
    res.once('close', () => {
      if (!res.writableFinished) reject(new Error('the client closed the connection'));
    });
  });
  gone.catch(() => {});
  const head: ResponseSink['head'] = (prelude) => {
    if (res.headersSent) return;
    const headers: Record<string, string | string[]> = { ...(prelude.headers ?? {}) };
    if (prelude.cookies?.length) headers['set-cookie'] = prelude.cookies;
    res.writeHead(prelude.statusCode ?? 200, headers);
  };
  return {
    head,
    write: (chunk) => {
      head({});
      if (res.destroyed) return Promise.reject(new Error('the client closed the connection'));
      if (res.write(chunk)) return Promise.resolve();
      return Promise.race([new Promise<void>((resolve) => res.once('drain', resolve)), gone]);
    },
  };
}

/**
 * Applies the URL's CORS to a request from a page: true when it was a preflight, answered here.
 * A request from an origin the URL does not allow gets no CORS headers (the browser refuses it).
 */
function applyCors(
  cors: FunctionUrlCors,
  req: import('node:http').IncomingMessage,
  res: ServerResponse,
): boolean {
  const origin = req.headers.origin;
  const preflight =
    req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  const any = cors.allowOrigins.includes('*');
  if (origin !== undefined && (any || cors.allowOrigins.includes(origin))) {
    res.setHeader('Access-Control-Allow-Origin', any && !cors.allowCredentials ? '*' : origin);
    res.setHeader('Vary', 'Origin');
    if (cors.allowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (!preflight && cors.exposeHeaders.length > 0)
      res.setHeader('Access-Control-Expose-Headers', cors.exposeHeaders.join(', '));
    if (preflight) {
      const method = String(req.headers['access-control-request-method']);
      const methods = cors.allowMethods.includes('*') ? [method] : cors.allowMethods;
      res.setHeader('Access-Control-Allow-Methods', methods.join(', '));
      const asked = String(req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== '');
      const allowed = new Set(cors.allowHeaders.map((h) => h.toLowerCase()));
      const headers = allowed.has('*') ? asked : asked.filter((h) => allowed.has(h));
      if (headers.length > 0) res.setHeader('Access-Control-Allow-Headers', headers.join(', '));
      if (cors.maxAge !== undefined) res.setHeader('Access-Control-Max-Age', String(cors.maxAge));
    }
  }
  if (!preflight) return false;
  req.resume();
  res.writeHead(200, { 'content-length': 0 });
  res.end();
  return true;
}

/** Starts the function URL of `fn` on an ephemeral loopback port. */
export async function startFunctionUrl(
  fn: ServiceFunction & { url: NonNullable<ServiceFunction['url']> },
  opts: FunctionUrlOptions,
): Promise<FunctionUrlHandle> {
  const streaming = fn.url.invokeMode === 'RESPONSE_STREAM';
  const server = createServer(async (req, res) => {
    if (fn.url.cors && applyCors(fn.url.cors, req, res)) return;
    try {
      const body = await readBody(req, LAMBDA_MAX_REQUEST);
      if (!body) return lambdaError(res, 413, 'Request must be smaller than 6291456 bytes');
      const event = buildEvent(req, body, { routeKey: '$default' }, {}, opts.accountId);
      if (!streaming) {
        writeProxyResult(res, await opts.invoke(fn.key, event));
        return;
      }
      await opts.invokeStreaming(fn.key, event, responseSink(res));
      if (!res.headersSent) res.writeHead(200);
      res.end();
    } catch (err) {
      opts.log?.(
        `${fn.key} url ${req.method} ${req.url}: ${(err as Error).name}: ${(err as Error).message}`,
      );
      if (!res.headersSent) lambdaError(res, 502, 'Internal Server Error');
      else res.destroy();
    }
  });
  const port = await listenLoopback(server, 0, `the function URL of ${fn.key}`);
  return {
    functionKey: fn.key,
    url: `http://127.0.0.1:${port}/`,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface FunctionUrlsOptions {
  service: ResolvedService;
  /** Gains each URL as `<Fn>LambdaFunctionUrl`'s attributes, as CloudFormation gives them. */
  stack: ProvisionedStack;
  shutdown: Shutdown;
  /** The invoker, asked for only once a request comes: it is made after the URLs listen. */
  invoker(): Invoker;
  log(line: string): void;
}

/**
 * Starts every function URL the service declares, before the functions' environments resolve,
 * since a function may be given another's URL (`!GetAtt <Fn>LambdaFunctionUrl.FunctionUrl`).
 * Each server is gated like the other local endpoints, and registers its drain and cut steps.
 */
export async function startFunctionUrls(opts: FunctionUrlsOptions): Promise<void> {
  const { shutdown, stack } = opts;
  const functionUrls: FunctionUrlHandle[] = [];
  const urlGates: ServerGate[] = [];
  shutdown.onCut('the function URLs', async () => {
    await Promise.all(functionUrls.map((u) => u.stop()));
  });
  for (const fn of opts.service.functions) {
    if (!fn.url) continue;
    const handle = await startFunctionUrl(
      { ...fn, url: fn.url },
      {
        accountId: LOCAL_ACCOUNT_ID,
        invoke: (key, e) => opts.invoker().invoke(key, e),
        invokeStreaming: (key, e, sink) => opts.invoker().invokeStreaming(key, e, sink),
        log: opts.log,
      },
    );
    functionUrls.push(handle);
    urlGates.push(
      gateServer(handle.server, {
        refuse: (_req, res, why, message) =>
          why === 'foreign'
            ? sendApiError(res, 403, 'Forbidden', message)
            : sendApiError(res, 503, 'ServiceUnavailable', message),
      }),
    );
    const arn = stack.resources.get(functionLogicalId(fn.key))?.attributes.Arn ?? fn.name;
    stack.resources.set(`${functionLogicalId(fn.key)}Url`, {
      ref: arn,
      attributes: { FunctionUrl: handle.url, FunctionArn: arn },
      type: 'AWS::Lambda::Url',
    });
  }
  shutdown.onDrain('the function URLs', () => {
    for (const gate of urlGates) gate.drain();
  });
  shutdown.whileInFlight(async () => {
    await Promise.all(urlGates.map((gate) => gate.settle()));
  });
  shutdown.onCut('the function URL requests', (ctx) => {
    for (const gate of urlGates) {
      gate.cut(false);
      ctx.cut.httpRequests += gate.ended.requests;
      ctx.cut.keepAliveConnections += gate.ended.idleConnections;
    }
  });
}

/**
 * API Gateway HTTP API in front of the service's `httpApi` events: payload format 2.0 in, the
 * Lambda proxy response out, with API Gateway's limits and its own error bodies.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readBody, sendJson } from './http-body.ts';
import type { Invoker } from './invoker.ts';
import { listenLoopback } from './ports.ts';
import { type HttpApiEventSource, type ResolvedService, ServiceConfigError } from './service.ts';

/** API Gateway refuses larger request bodies with 413. */
export const HTTP_API_MAX_BODY = 10 * 1024 * 1024;
/** Lambda's synchronous invocation payload limit; the gateway answers 413 above it. */
export const LAMBDA_MAX_REQUEST = 6 * 1024 * 1024;
/** HTTP APIs give up on an integration after 30 s with 503. */
export const HTTP_API_TIMEOUT_MS = 30_000;

export interface HttpRoute {
  functionName: string;
  event: HttpApiEventSource;
}

interface CompiledRoute extends HttpRoute {
  routeKey: string;
  segments: string[];
  score: number[];
}

function compile(route: HttpRoute): CompiledRoute {
  const { method, path } = route.event;
  const routeKey = path === '*' ? '$default' : `${method} ${path}`;
  const segments = path === '*' ? [] : path.split('/').filter(Boolean);
  // API Gateway prefers literal segments, then {param}, then {greedy+}; then a method over ANY.
  const score = segments.map((s) => (s.endsWith('+}') ? 0 : s.startsWith('{') ? 1 : 2));
  return { ...route, routeKey, segments, score };
}

function compareRoutes(a: CompiledRoute, b: CompiledRoute): number {
  if (a.routeKey === '$default') return 1;
  if (b.routeKey === '$default') return -1;
  for (let i = 0; i < Math.max(a.score.length, b.score.length); i++) {
    const d = (b.score[i] ?? -1) - (a.score[i] ?? -1);
    if (d !== 0) return d;
  }
  return (a.event.method === 'ANY' ? 1 : 0) - (b.event.method === 'ANY' ? 1 : 0);
}

function match(
  route: CompiledRoute,
  method: string,
  parts: string[],
): Record<string, string> | undefined {
  if (route.routeKey === '$default') return {};
  if (route.event.method !== 'ANY' && route.event.method !== method) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const seg = route.segments[i] as string;
    if (seg.endsWith('+}')) {
      if (i >= parts.length) return undefined;
      params[seg.slice(1, -2)] = parts.slice(i).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.startsWith('{')) params[seg.slice(1, -1)] = part;
    else if (seg !== part) return undefined;
  }
  return parts.length === route.segments.length ? params : undefined;
}

const TEXT_TYPES =
  /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

function clfTime(d: Date): string {
  const months = [
    'Jan',
    'Feb',
    'Mar',
    'Apr',
    'May',
    'Jun',
    'Jul',
    'Aug',
    'Sep',
    'Oct',
    'Nov',
    'Dec',
  ];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function gatewayError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { message });
}

/**
 * `part` percent-decoded, or undefined when an escape is malformed: a `%` without two hex
 * digits, or bytes that are not UTF-8 (`%E0%A4%A`, the surrogate `%ED%A0%80`).
 */
export function decodePathSegment(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/**
 * Builds the payload-format-2.0 event API Gateway sends for `req` (path parameters decoded).
 * An HTTP API hands its integrations and authorizers `rawPath` percent-decoded too
 * (`decodeRawPath`); a function URL hands it on as it came.
 */
export function buildEvent(
  req: IncomingMessage,
  body: Buffer,
  route: Pick<CompiledRoute, 'routeKey'>,
  pathParameters: Record<string, string>,
  accountId: string,
  decodeRawPath = false,
): Record<string, unknown> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    if (name === 'cookie') {
      cookies = [...(cookies ?? []), ...value.split(/;\s*/).filter(Boolean)];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const now = new Date();
  // Text types pass as text; anything else, or text that is not valid UTF-8, goes base64.
  const isText = TEXT_TYPES.test(headers['content-type'] ?? '') && isUtf8(body);
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: decodeRawPath ? (decodePathSegment(url.pathname) ?? url.pathname) : url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId,
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0],
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: route.routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    ...(body.length
      ? { body: isText ? body.toString('utf8') : body.toString('base64'), isBase64Encoded: !isText }
      : { isBase64Encoded: false }),
  };
}

/** Writes a Lambda proxy result (payload 2.0 rules) to `res`. */
export function writeProxyResult(res: ServerResponse, result: unknown): void {
  const structured =
    typeof result === 'object' && result !== null && 'statusCode' in (result as object);
  if (!structured) {
    const body = typeof result === 'string' ? result : JSON.stringify(result);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  const r = result as {
    statusCode: number;
    headers?: Record<string, string | number | boolean>;
    cookies?: string[];
    body?: string;
    isBase64Encoded?: boolean;
  };
  const body =
    r.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8');
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (r.cookies?.length) headers['set-cookie'] = r.cookies;
  // A HEAD answer's content-length is the size GET would send, when the handler says it.
  if (!(res.req.method === 'HEAD' && body.length === 0 && headers['content-length'] !== undefined))
    headers['content-length'] = String(body.length);
  if (headers['content-type'] === undefined && body.length)
    headers['content-type'] = 'application/json';
  res.writeHead(r.statusCode, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export interface HttpApiOptions {
  port: number;
  portVariable: string;
  accountId: string;
  routes: HttpRoute[];
  invoke: (functionName: string, event: unknown) => Promise<unknown>;
  log?: (line: string) => void;
  /** Routes the local cloud itself answers (fault injection), tried before the functions'. */
  localRoutes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /**
   * Runs the authorizer a route names on the authorizer event: its context, or undefined when
   * it refuses (the gateway's 403). Without it, routes' authorizers are skipped (DSN_AUTH=off).
   */
  authorize?: (
    authorizer: string,
    event: Record<string, unknown>,
  ) => Promise<Record<string, unknown> | undefined>;
}

/** The payload-2.0 request authorizer event for a route's event: the request without its body. */
export function authorizerEvent(
  event: Record<string, unknown>,
  accountId: string,
): Record<string, unknown> {
  const { body: _body, isBase64Encoded: _b64, ...request } = event;
  return {
    ...request,
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:local:${accountId}:local/$default/${String(event.routeKey).replace(' ', '')}`,
    identitySource: [],
  };
}

/**
 * Runs a route's authorizer as API Gateway does: the function declared for it, on the request
 * event; a simple response's `isAuthorized` decides, and its `context` reaches the route.
 */
export function authorizeWith(
  service: ResolvedService,
  invoker: Invoker,
): (name: string, event: Record<string, unknown>) => Promise<Record<string, unknown> | undefined> {
  const byName = new Map(service.authorizers.map((a) => [a.name, a]));
  for (const a of service.authorizers) {
    if (!a.enableSimpleResponses)
      throw new ServiceConfigError(
        `provider.httpApi.authorizers.${a.name}.enableSimpleResponses`,
        'the local cloud runs simple-response authorizers only',
      );
  }
  return async (name, event) => {
    const authorizer = byName.get(name);
    if (!authorizer)
      throw new ServiceConfigError(
        `httpApi authorizer "${name}"`,
        'is not under provider.httpApi.authorizers',
      );
    const result = (await invoker.invoke(authorizer.functionKey, event)) as {
      isAuthorized?: unknown;
      context?: Record<string, unknown>;
    } | null;
    return result?.isAuthorized === true ? (result.context ?? {}) : undefined;
  };
}

export interface HttpApiHandle {
  url: string;
  port: number;
  /** For the loopback gate and the bounded stop (server-gate.ts). */
  server: Server;
  routes: string[];
  stop(): Promise<void>;
}

export async function startHttpApi(opts: HttpApiOptions): Promise<HttpApiHandle> {
  const routes = opts.routes.map(compile).sort(compareRoutes);
  const server: Server = createServer(async (req, res) => {
    try {
      if (opts.localRoutes && (await opts.localRoutes(req, res))) return;
      const url = new URL(req.url ?? '/', 'http://localhost');
      const parts = url.pathname.split('/').filter(Boolean);
      // API Gateway answers a malformed escape itself, before any route or function sees it.
      if (parts.some((part) => decodePathSegment(part) === undefined)) {
        req.resume();
        return gatewayError(res, 400, 'Bad Request');
      }
      const method = (req.method ?? 'GET').toUpperCase();
      let found: { route: CompiledRoute; params: Record<string, string> } | undefined;
      for (const route of routes) {
        const params = match(route, method, parts);
        if (params) {
          found = { route, params };
          break;
        }
      }
      if (!found) {
        req.resume();
        return gatewayError(res, 404, 'Not Found');
      }
      const body = await readBody(req, HTTP_API_MAX_BODY);
      if (!body) return gatewayError(res, 413, 'Request Entity Too Large');
      const params = Object.fromEntries(
        Object.entries(found.params).map(([k, v]) => [k, decodePathSegment(v) as string]),
      );
      const event = buildEvent(req, body, found.route, params, opts.accountId, true);
      if (Buffer.byteLength(JSON.stringify(event)) > LAMBDA_MAX_REQUEST) {
        return gatewayError(res, 413, 'Request Entity Too Large');
      }
      // API Gateway waits for the authorizer apart from the integration's 30 s (the
      // authorizer is bounded by its own function timeout).
      const authorizer = found.route.event.authorizer;
      if (authorizer && opts.authorize) {
        const context = await opts.authorize(authorizer, authorizerEvent(event, opts.accountId));
        if (!context) return gatewayError(res, 403, 'Forbidden');
        (event.requestContext as Record<string, unknown>).authorizer = { lambda: context };
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), HTTP_API_TIMEOUT_MS);
      });
      const result = await Promise.race([
        opts.invoke(found.route.functionName, event),
        timeout,
      ]).finally(() => clearTimeout(timer));
      if (result === 'timeout') return gatewayError(res, 503, 'Service Unavailable');
      writeProxyResult(res, result);
    } catch (err) {
      opts.log?.(`${req.method} ${req.url}: ${(err as Error).name}: ${(err as Error).message}`);
      if (!res.headersSent) gatewayError(res, 500, 'Internal Server Error');
      else res.destroy();
    }
  });
  const port = await listenLoopback(server, opts.port, opts.portVariable);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    routes: routes.map((r) => `${r.routeKey} -> ${r.functionName}`),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Reads the resolved service exactly as the Serverless Framework sees it (`serverless print`),
 * so the local cloud never keeps a second, hand-written list of functions or resources.
 *
 * `serverless print` takes about two seconds; its output is cached in the data directory under
 * a hash of every input that can change it (serverless.yml, the files it pulls in with
 * `${file(...)}`, the `${env:...}` values it reads, the stage), which keeps restarts fast.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type FunctionUrl, parseFunctionUrl } from './function-url-config.ts';
import { isRecord, ServiceConfigError } from './service-config-error.ts';

export type { FunctionUrl, FunctionUrlCors } from './function-url-config.ts';
export { ServiceConfigError };

const run = promisify(execFile);

export interface SqsEventSource {
  type: 'sqs';
  /** Queue ARN, possibly still an intrinsic (`Fn::GetAtt`). */
  arn: unknown;
  batchSize: number;
  maximumBatchingWindow: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
}

export interface HttpApiEventSource {
  type: 'httpApi';
  /** Upper-case method, or `ANY`. */
  method: string;
  /** `/path/{param}/{proxy+}`, or `*` for the `$default` route. */
  path: string;
  /** Name of the route's authorizer under `provider.httpApi.authorizers`. */
  authorizer?: string;
}

/** A Lambda request authorizer of the HTTP API (`provider.httpApi.authorizers.<name>`). */
export interface HttpApiAuthorizer {
  name: string;
  /** Key of the function under `functions:`. */
  functionKey: string;
  /** `{ isAuthorized, context }` answers rather than IAM policies. */
  enableSimpleResponses: boolean;
}

export interface ScheduleEventSource {
  type: 'schedule';
  expression: string;
  input: unknown;
  enabled: boolean;
}

export type EventSource = SqsEventSource | HttpApiEventSource | ScheduleEventSource;

export interface ServiceFunction {
  /** Key under `functions:` in serverless.yml. */
  key: string;
  /** Deployed name, e.g. `dsn-dev-api`. */
  name: string;
  /** Absolute path of the handler module. */
  modulePath: string;
  exportName: string;
  timeoutSeconds: number;
  memorySize: number;
  /** Provider environment merged with the function's; values may be intrinsics. */
  environment: Record<string, unknown>;
  events: EventSource[];
  /** Its Lambda function URL (`url:`), if it declares one. */
  url?: FunctionUrl;
  /**
   * Background work (tag `dsn:priority: background`): the local cloud runs its sandboxes at a
   * lower CPU priority, so maintenance sharing this machine's cores does not starve requests.
   */
  background: boolean;
  /**
   * The logical id of its execution role (`role: ApiRole` or `role: !GetAtt ApiRole.Arn`);
   * undefined when it declares none or names a role outside the stack by its ARN.
   */
  role?: string;
}

/** The logical id a function's `role:` names, if it names one of the stack's resources. */
function parseRole(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value.startsWith('arn:') ? undefined : value;
  const getAtt = isRecord(value) ? value['Fn::GetAtt'] : undefined;
  const target = Array.isArray(getAtt)
    ? getAtt[0]
    : typeof getAtt === 'string'
      ? getAtt.split('.')[0]
      : undefined;
  if (typeof target === 'string') return target;
  throw new ServiceConfigError(
    field,
    "must be a role's logical id, its !GetAtt <Role>.Arn, or an ARN",
  );
}

/** The function tag that marks background work, and its one value. */
export const PRIORITY_TAG = 'dsn:priority';

function parseBackground(tags: unknown, field: string): boolean {
  if (tags === undefined) return false;
  if (!isRecord(tags)) throw new ServiceConfigError(field, 'must be a map of tag names to values');
  const priority = tags[PRIORITY_TAG];
  if (priority === undefined) return false;
  if (priority !== 'background')
    throw new ServiceConfigError(`${field}.${PRIORITY_TAG}`, 'must be "background" when set');
  return true;
}

export interface ResolvedService {
  service: string;
  stage: string;
  region: string;
  runtime: string;
  functions: ServiceFunction[];
  /** CloudFormation `Resources`, intrinsics unresolved. */
  resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  /** The HTTP API's request authorizers. */
  authorizers: HttpApiAuthorizer[];
  /** serverless-step-functions machines: key to `{ name?, definition }`. */
  stateMachines: Record<string, { name?: string; definition: unknown }>;
  /** The raw `serverless print` output, for anything not modelled above. */
  raw: Record<string, unknown>;
}

const HANDLER_EXTENSIONS = ['.ts', '.mts', '.mjs', '.js'];
const SUPPORTED_EVENTS = ['sqs', 'httpApi', 'schedule'];
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'ANY'];

function parseHttpApi(value: unknown, field: string): HttpApiEventSource {
  let method: string;
  let path: string;
  let authorizer: string | undefined;
  if (value === '*') return { type: 'httpApi', method: 'ANY', path: '*' };
  if (typeof value === 'string') {
    const parts = value.trim().split(/\s+/);
    if (parts.length !== 2) {
      throw new ServiceConfigError(field, `expected "METHOD /path" or "*", got "${value}"`);
    }
    [method, path] = parts as [string, string];
  } else if (isRecord(value)) {
    method = String(value.method ?? 'ANY');
    path = String(value.path ?? '');
    const named = isRecord(value.authorizer) ? value.authorizer.name : value.authorizer;
    if (named !== undefined) {
      if (typeof named !== 'string')
        throw new ServiceConfigError(
          `${field}.authorizer`,
          'the local cloud needs a named authorizer',
        );
      authorizer = named;
    }
  } else {
    throw new ServiceConfigError(field, 'expected a string or { method, path }');
  }
  method = method === '*' ? 'ANY' : method.toUpperCase();
  if (!HTTP_METHODS.includes(method)) {
    throw new ServiceConfigError(`${field}.method`, `unknown HTTP method "${method}"`);
  }
  if (path !== '*' && !path.startsWith('/')) {
    throw new ServiceConfigError(`${field}.path`, `must start with "/", got "${path}"`);
  }
  return { type: 'httpApi', method, path, ...(authorizer ? { authorizer } : {}) };
}

function parseAuthorizers(provider: Record<string, unknown>): HttpApiAuthorizer[] {
  const httpApi = isRecord(provider.httpApi) ? provider.httpApi : {};
  const authorizers = isRecord(httpApi.authorizers) ? httpApi.authorizers : {};
  return Object.entries(authorizers).map(([name, spec]) => {
    const field = `provider.httpApi.authorizers.${name}`;
    if (!isRecord(spec) || spec.type !== 'request' || typeof spec.functionName !== 'string')
      throw new ServiceConfigError(
        field,
        'the local cloud runs request authorizers of a function of the service (type: request, functionName)',
      );
    if (spec.payloadVersion !== undefined && String(spec.payloadVersion) !== '2.0')
      throw new ServiceConfigError(`${field}.payloadVersion`, 'the local cloud sends payload 2.0');
    return {
      name: String(spec.name ?? name),
      functionKey: spec.functionName,
      enableSimpleResponses: spec.enableSimpleResponses === true,
    };
  });
}

function parseEvent(event: unknown, field: string): EventSource {
  if (!isRecord(event) || Object.keys(event).length !== 1) {
    throw new ServiceConfigError(field, 'each event must be an object with exactly one event type');
  }
  const [type, value] = Object.entries(event)[0] as [string, unknown];
  const here = `${field}.${type}`;
  switch (type) {
    case 'sqs': {
      const spec = isRecord(value) ? value : { arn: value };
      if (spec.arn === undefined) throw new ServiceConfigError(`${here}.arn`, 'is required');
      const batchSize = Number(spec.batchSize ?? 10);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10000) {
        throw new ServiceConfigError(`${here}.batchSize`, `must be an integer 1..10000`);
      }
      const rawResponseType = spec.functionResponseType;
      const responseTypes = Array.isArray(rawResponseType) ? rawResponseType : [rawResponseType];
      return {
        type: 'sqs',
        arn: spec.arn,
        batchSize,
        maximumBatchingWindow: Number(spec.maximumBatchingWindow ?? 0),
        reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
        enabled: spec.enabled !== false,
      };
    }
    case 'httpApi':
      return parseHttpApi(value, here);
    case 'schedule': {
      const spec = isRecord(value) ? value : { rate: value };
      const rates = Array.isArray(spec.rate) ? spec.rate : [spec.rate];
      if (rates.length !== 1 || typeof rates[0] !== 'string') {
        throw new ServiceConfigError(
          `${here}.rate`,
          'the local cloud needs exactly one expression',
        );
      }
      return {
        type: 'schedule',
        expression: rates[0],
        input: spec.input,
        enabled: spec.enabled !== false,
      };
    }
    default:
      throw new ServiceConfigError(
        here,
        `unknown or unsupported event type "${type}" (supported: ${SUPPORTED_EVENTS.join(', ')})`,
      );
  }
}

function parseFunction(
  key: string,
  spec: unknown,
  serviceDir: string,
  provider: Record<string, unknown>,
): ServiceFunction {
  const field = `functions.${key}`;
  if (!isRecord(spec)) throw new ServiceConfigError(field, 'must be an object');
  const handler = spec.handler;
  if (typeof handler !== 'string' || !/^[^.]+(\.[^.]+)*\.[A-Za-z_$][\w$]*$/.test(handler)) {
    throw new ServiceConfigError(`${field}.handler`, 'must look like "path/to/file.exportName"');
  }
  const dot = handler.lastIndexOf('.');
  const base = resolve(serviceDir, handler.slice(0, dot));
  const modulePath = HANDLER_EXTENSIONS.map((ext) => base + ext).find((p) => existsSync(p));
  if (!modulePath) {
    throw new ServiceConfigError(
      `${field}.handler`,
      `no file for "${handler}" (looked for ${handler.slice(0, dot)}{${HANDLER_EXTENSIONS.join(',')}})`,
    );
  }
  const events = spec.events ?? [];
  if (!Array.isArray(events)) throw new ServiceConfigError(`${field}.events`, 'must be a list');
  const timeoutSeconds = Number(spec.timeout ?? provider.timeout ?? 6);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 900) {
    throw new ServiceConfigError(`${field}.timeout`, 'must be 1..900 seconds');
  }
  const role = parseRole(spec.role, `${field}.role`);
  return {
    key,
    name: String(spec.name ?? key),
    modulePath,
    exportName: handler.slice(dot + 1),
    timeoutSeconds,
    memorySize: Number(spec.memorySize ?? provider.memorySize ?? 1024),
    environment: {
      ...(isRecord(provider.environment) ? provider.environment : {}),
      ...(isRecord(spec.environment) ? spec.environment : {}),
    },
    events: events.map((e, i) => parseEvent(e, `${field}.events[${i}]`)),
    url: parseFunctionUrl(spec.url, `${field}.url`),
    background: parseBackground(spec.tags, `${field}.tags`),
    ...(role === undefined ? {} : { role }),
  };
}

/** Turns `serverless print` output into the typed view, checking what the local cloud needs. */
export function parseService(raw: Record<string, unknown>, serviceDir: string): ResolvedService {
  const provider = isRecord(raw.provider) ? raw.provider : {};
  const functions = isRecord(raw.functions) ? raw.functions : {};
  const resourcesBlock = isRecord(raw.resources) ? raw.resources : {};
  const resources = (isRecord(resourcesBlock.Resources) ? resourcesBlock.Resources : {}) as Record<
    string,
    { Type: string; Properties?: Record<string, unknown> }
  >;
  for (const [id, r] of Object.entries(resources)) {
    if (!isRecord(r) || typeof r.Type !== 'string') {
      throw new ServiceConfigError(`resources.Resources.${id}.Type`, 'is required');
    }
  }
  const sf = isRecord(raw.stepFunctions) ? raw.stepFunctions : {};
  const stateMachines = (isRecord(sf.stateMachines) ? sf.stateMachines : {}) as Record<
    string,
    { name?: string; definition: unknown }
  >;
  for (const [key, sm] of Object.entries(stateMachines)) {
    if (!isRecord(sm) || !isRecord(sm.definition)) {
      throw new ServiceConfigError(`stepFunctions.stateMachines.${key}.definition`, 'is required');
    }
  }
  return {
    service: String(isRecord(raw.service) ? raw.service.name : raw.service),
    stage: String(provider.stage ?? 'dev'),
    region: String(provider.region ?? 'us-east-1'),
    runtime: String(provider.runtime ?? 'nodejs24.x'),
    functions: Object.entries(functions).map(([k, f]) => parseFunction(k, f, serviceDir, provider)),
    authorizers: parseAuthorizers(provider),
    resources,
    stateMachines,
    raw,
  };
}

async function cacheKey(serviceDir: string, stage: string): Promise<string> {
  const hash = createHash('sha256');
  const yml = await readFile(join(serviceDir, 'serverless.yml'), 'utf8');
  hash.update(stage).update('\0').update(yml);
  for (const [, file] of yml.matchAll(/\$\{file\(([^)]+)\)/g)) {
    const path = resolve(serviceDir, file as string);
    // A generator may require its neighbours, so the whole folder counts.
    const dir = dirname(path);
    for (const entry of (await readdir(dir).catch(() => [])).sort()) {
      hash.update(entry).update('\0');
      hash.update(await readFile(join(dir, entry)).catch(() => ''));
    }
  }
  for (const [, name] of yml.matchAll(/\$\{env:([A-Za-z_][\w]*)/g)) {
    hash.update(`${name}=${process.env[name as string] ?? ''}\0`);
  }
  const require = createRequire(join(serviceDir, 'package.json'));
  const osls = JSON.parse(await readFile(require.resolve('osls/package.json'), 'utf8'));
  hash.update(String(osls.version));
  return hash.digest('hex');
}

/**
 * Runs `serverless print` for the service in `serviceDir` (or reuses the cached result) and
 * parses it.
 * @throws ServiceConfigError for a malformed service, with the framework's own message when
 *   `serverless print` itself rejects the file.
 */
export async function loadService(opts: {
  serviceDir: string;
  stage: string;
  cacheDir: string;
}): Promise<ResolvedService> {
  const { serviceDir, stage, cacheDir } = opts;
  if (!existsSync(join(serviceDir, 'serverless.yml'))) {
    throw new ServiceConfigError('(file)', `no serverless.yml in ${serviceDir}`);
  }
  const key = await cacheKey(serviceDir, stage);
  const cacheFile = join(cacheDir, 'service-print.json');
  let raw: Record<string, unknown> | undefined;
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8'));
    if (cached.key === key) raw = cached.service;
  } catch {
    // No cache yet, or an unreadable one: print afresh.
  }
  if (!raw) {
    const require = createRequire(join(serviceDir, 'package.json'));
    const bin = join(dirname(require.resolve('osls/package.json')), 'bin', 'serverless.js');
    try {
      const { stdout } = await run(
        process.execPath,
        [bin, 'print', '--format', 'json', '--stage', stage],
        {
          cwd: serviceDir,
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
        },
      );
      raw = JSON.parse(stdout) as Record<string, unknown>;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      const detail = `${e.stderr ?? ''}\n${e.stdout ?? ''}`
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('at '))
        .join(' ');
      throw new ServiceConfigError('(print)', `serverless print failed: ${detail || e.message}`);
    }
    await mkdir(cacheDir, { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ key, service: raw }));
    await rename(tmp, cacheFile);
  }
  return parseService(raw, serviceDir);
}

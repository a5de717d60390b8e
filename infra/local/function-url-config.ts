/**
 * A function's `url:` in serverless.yml, as the local cloud serves it (function-urls.ts): its
 * invoke mode, and its `cors` with the framework's defaults filled in.
 */
import { isRecord, ServiceConfigError } from './service-config-error.ts';

/**
 * A function URL's CORS as Lambda applies it (`AWS::Lambda::Url` `Cors`): the framework's
 * defaults for `cors: true`, each list replaced by the one serverless.yml gives.
 */
export interface FunctionUrlCors {
  allowOrigins: string[];
  allowHeaders: string[];
  allowMethods: string[];
  exposeHeaders: string[];
  allowCredentials: boolean;
  maxAge?: number;
}

/** A function URL as serverless.yml declares it: `url: true`, or `url: { invokeMode, cors }`. */
export interface FunctionUrl {
  invokeMode: 'BUFFERED' | 'RESPONSE_STREAM';
  cors?: FunctionUrlCors;
}

/** The framework's `cors: true` (osls, compile/functions.js). */
const DEFAULT_URL_CORS: FunctionUrlCors = {
  allowOrigins: ['*'],
  allowHeaders: [
    'Content-Type',
    'X-Amz-Date',
    'Authorization',
    'X-Api-Key',
    'X-Amz-Security-Token',
    'X-Amzn-Trace-Id',
  ],
  allowMethods: ['*'],
  exposeHeaders: [],
  allowCredentials: false,
};

function parseUrlCors(spec: unknown, field: string): FunctionUrlCors | undefined {
  if (spec === undefined || spec === false) return undefined;
  if (spec === true) return { ...DEFAULT_URL_CORS };
  if (!isRecord(spec)) throw new ServiceConfigError(field, 'must be true or an object');
  const list = (name: string, fallback: string[]) => {
    const v = spec[name];
    if (v === undefined || v === null) return v === null ? [] : fallback;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw new ServiceConfigError(`${field}.${name}`, 'must be a list of strings');
    return [...new Set(v as string[])];
  };
  const maxAge = spec.maxAge;
  if (maxAge !== undefined && (!Number.isInteger(maxAge) || (maxAge as number) < 0))
    throw new ServiceConfigError(`${field}.maxAge`, 'must be a whole number of seconds');
  return {
    allowOrigins: list('allowedOrigins', DEFAULT_URL_CORS.allowOrigins),
    allowHeaders: list('allowedHeaders', DEFAULT_URL_CORS.allowHeaders),
    allowMethods: list('allowedMethods', DEFAULT_URL_CORS.allowMethods),
    exposeHeaders: list('exposedResponseHeaders', []),
    allowCredentials: spec.allowCredentials === true,
    ...(maxAge !== undefined ? { maxAge: maxAge as number } : {}),
  };
}

export function parseFunctionUrl(spec: unknown, field: string): FunctionUrl | undefined {
  if (spec === undefined || spec === false) return undefined;
  if (spec === true) return { invokeMode: 'BUFFERED' };
  if (!isRecord(spec)) throw new ServiceConfigError(field, 'must be true or an object');
  const mode = spec.invokeMode ?? 'BUFFERED';
  if (mode !== 'BUFFERED' && mode !== 'RESPONSE_STREAM')
    throw new ServiceConfigError(`${field}.invokeMode`, 'must be BUFFERED or RESPONSE_STREAM');
  // Only public URLs are served locally; an IAM-authorized one would need SigV4 checks.
  if (spec.authorizer !== undefined && spec.authorizer !== 'none')
    throw new ServiceConfigError(`${field}.authorizer`, 'the local cloud serves only "none"');
  const cors = parseUrlCors(spec.cors, `${field}.cors`);
  return { invokeMode: mode, ...(cors ? { cors } : {}) };
}

/**
 * The HTTP side of the CLI: one small client over fetch that turns the API's error bodies
 * (`{"error":{"code","message"}}`, or API Gateway's `{"message"}`) into ApiError, and network
 * failures into UnreachableError.
 */
import { type Credentials, signatureHeaders } from '../shared/access/signer.ts';
import { INLINE_LIMIT } from '../shared/store/inline-limit.ts';
import { ApiError, UnreachableError } from './errors.ts';

/** Bytes a plain PUT, a part, or one GET carries (the API's inline limit). */
export const CALL_LIMIT = INLINE_LIMIT;

export interface RequestOptions {
  /** Bytes are sent as application/octet-stream, anything else as JSON. */
  body?: Uint8Array | object;
  headers?: Record<string, string>;
  /** Statuses other than 2xx to hand back instead of throwing. */
  accept?: number[];
}

/** `/vaults/VAULT`, the name escaped: the base of every route about one vault. */
export function vaultPath(vault: string): string {
  return `/vaults/${encodeURIComponent(vault)}`;
}

/** `/vaults/VAULT/objects/KEY`, each segment of the key escaped and its slashes kept. */
export function objectPath(vault: string, key: string): string {
  return `${vaultPath(vault)}/objects/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Whether `err` says the API has no such route (a gateway 404 without an error body, or the api
 * function's NotFound), as opposed to a 404 about a vault or an object.
 */
export function isMissingRoute(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404 && err.code === 'NotFound';
}

/** How a client signs: the key, and the deployment's region. */
export interface Signing {
  credentials: Credentials;
  region: string;
}

export class DsnClient {
  readonly endpoint: string;
  /** Undefined when no credentials were found: requests go unsigned (and get 401). */
  readonly signing?: Signing;
  private readonly trace?: (line: string) => void;

  constructor(endpoint: string, trace?: (line: string) => void, signing?: Signing) {
    this.endpoint = endpoint.replace(/\/+$/, '');
    this.trace = trace;
    this.signing = signing;
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    let body: Uint8Array | string | undefined;
    if (opts.body instanceof Uint8Array) {
      headers['content-type'] ??= 'application/octet-stream';
      body = opts.body;
    } else if (opts.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(opts.body);
    }
    const url = `${this.endpoint}${path}`;
    if (this.signing) {
      const { credentials, region } = this.signing;
      Object.assign(headers, await signatureHeaders(new URL(url), method, credentials, region));
    }
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body as BodyInit | undefined,
      });
    } catch (err) {
      throw new UnreachableError(this.endpoint, err);
    }
    this.trace?.(
      `${method} ${path} -> ${res.status} (${Math.round(performance.now() - started)} ms)`,
    );
    if (res.ok || opts.accept?.includes(res.status)) return res;
    throw await apiError(res);
  }

  /** A request whose answer is JSON. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

async function apiError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: Record<string, unknown> } | undefined)?.error;
  if (error && typeof error === 'object') {
    const { code, message, ...details } = error;
    return new ApiError(res.status, String(code ?? ''), String(message ?? res.statusText), details);
  }
  // API Gateway's own answers (an unknown route) carry only a message.
  const gatewayMessage = (parsed as { message?: unknown } | undefined)?.message;
  const message =
    typeof gatewayMessage === 'string' ? gatewayMessage : text.slice(0, 200) || res.statusText;
  return new ApiError(
    res.status,
    res.status === 404 ? 'NotFound' : '',
    message || `HTTP ${res.status}`,
  );
}

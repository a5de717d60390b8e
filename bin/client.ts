/**
 * The HTTP side of the CLI: every call goes through `@dsn/client`'s transport (signed, retried
 * with back-off on 429 and 503 throttling), and this turns the API's error bodies
 * (`{"error":{"code","message"}}`, or API Gateway's `{"message"}`) into ApiError, and network
 * failures into UnreachableError.
 */

import { type Written, waitForRevision } from '../client/dsn-client.ts';
import {
  apiErrorOf,
  DsnApiError,
  DsnUnreachableError,
  nodeSigner,
  objectPath,
  Transport,
  vaultPath,
} from '../client/index.ts';
import type { Credentials } from '../shared/access/signer.ts';
import { SegmentLostError } from '../shared/errors.ts';
import { INLINE_LIMIT } from '../shared/store/inline-limit.ts';
import { ApiError, CliError, UnreachableError } from './errors.ts';

/** Bytes a plain PUT, a part, or one GET carries (the API's inline limit). */
export const CALL_LIMIT = INLINE_LIMIT;

export interface RequestOptions {
  /** Bytes are sent as application/octet-stream, anything else as JSON. */
  body?: Uint8Array | object;
  headers?: Record<string, string>;
  /** Statuses other than 2xx to hand back instead of throwing. */
  accept?: number[];
}

export { objectPath, vaultPath };

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
  readonly transport: Transport;

  constructor(endpoint: string, trace?: (line: string) => void, signing?: Signing) {
    this.endpoint = endpoint.replace(/\/+$/, '');
    this.signing = signing;
    this.transport = new Transport({
      endpoint: this.endpoint,
      ...(signing ? { signer: nodeSigner(signing.credentials, signing.region) } : {}),
      ...(trace ? { trace } : {}),
    });
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
    let res: Response;
    try {
      res = await this.transport.request(method, path, {
        headers,
        body: body as BodyInit | undefined,
      });
    } catch (err) {
      if (err instanceof DsnUnreachableError) throw new UnreachableError(this.endpoint, err.cause);
      throw err;
    }
    if (res.ok || opts.accept?.includes(res.status)) return res;
    throw await apiError(res);
  }

  /** A JSON POST, its answer's status and JSON body (the client-side paths' calls). @throws ApiError */
  async postJson<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    const res = await this.request('POST', path, { body: body as object });
    return { status: res.status, body: (await res.json()) as T };
  }

  /** A request whose answer is JSON. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

/** Whether `err` is client/slice-http.ts's UnitsUnreachableError (by name: the client-side paths load lazily). */
export function isUnitsUnreachable(err: unknown): boolean {
  return err instanceof Error && err.name === 'UnitsUnreachableError';
}

/**
 * An error of the client-side paths as the CLI explains it: the SDK's as its ApiError, a lost
 * segment with the API's code (and so its hint), buckets out of this client's reach with the way
 * around; others as they are.
 */
export function asCliError(err: unknown): unknown {
  if (err instanceof DsnApiError)
    return new ApiError(err.status, err.code, err.message, err.details);
  if (err instanceof SegmentLostError) return new ApiError(503, 'SegmentLost', err.message);
  if (isUnitsUnreachable(err))
    return new CliError((err as Error).message, {
      cause: err,
      hint: "this client reaches the API but not the units' buckets: take the API's path with --via server",
    });
  return err;
}

/** The SDK's reading of an error answer, as the CLI's ApiError (which knows its exit code). */
async function apiError(res: Response): Promise<ApiError> {
  const e = await apiErrorOf(res);
  return new ApiError(e.status, e.code, e.message, e.details);
}

/** How often `dsn put` asks after a write that is still pending. */
export const PUT_POLL_MS = 200;

/**
 * Polls a pending revision until it is committed (or committed and already replaced by a newer
 * write, which the ledger calls garbage), as the SDK does. @throws ApiError when it failed.
 */
export function awaitRevision(
  client: DsnClient,
  vault: string,
  revision: string,
  signal?: AbortSignal,
): Promise<Written> {
  return waitForRevision(client, vault, revision, PUT_POLL_MS, signal).catch((err) => {
    throw asCliError(err);
  });
}

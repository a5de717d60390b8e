/**
 * The client itself, portable: it runs wherever fetch, Blob and ReadableStream do (Node 20 and
 * later, browsers), and signs through whatever RequestSigner its transport was given.
 *
 * - `client.api` is an openapi-fetch client typed from the API's own OpenAPI document
 *   (client/api-types.ts, generated from the routes' zod schemas), for every JSON route: vaults,
 *   rebuilds, work items, listeners, replication jobs, keys.
 * - The object methods cover what a generic client cannot do well: streamed and ranged reads
 *   (a large object's 307 to the reader is followed), conditional writes, and uploads of any
 *   size (staged through the API, or presigned straight into S3).
 */
import createFetchClient, { type Client } from 'openapi-fetch';
import { isSuperseded } from '../shared/store/superseded-write.ts';
import type { paths } from './api-types.ts';
import type { Transport } from './transport.ts';

/**
 * The calls the client-side paths (client/uplink.ts, client/downlink.ts) make of the API: this
 * SDK's DsnClient has it, and so has the CLI's, which throws its own errors. An error answer
 * throws an error with the answer's `status` and `code`.
 */
export interface ApiCalls {
  postJson<T>(path: string, body: unknown): Promise<{ status: number; body: T }>;
}

/** The API answered with an error: its status, its code (`InvalidParameter`, ...) and message. */
export class DsnApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(
    status: number,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DsnApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Reads an error answer: the API's `{"error":{code,message,...}}` or a gateway's `{"message"}`. */
export async function apiErrorOf(res: Response): Promise<DsnApiError> {
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
    return new DsnApiError(
      res.status,
      String(code ?? ''),
      String(message ?? res.statusText),
      details,
    );
  }
  const gateway = (parsed as { message?: unknown } | undefined)?.message;
  const message = typeof gateway === 'string' ? gateway : text.slice(0, 200) || res.statusText;
  return new DsnApiError(
    res.status,
    res.status === 404 ? 'NotFound' : '',
    message || `HTTP ${res.status}`,
  );
}

/** `/vaults/VAULT`, the name escaped. */
export function vaultPath(vault: string): string {
  return `/vaults/${encodeURIComponent(vault)}`;
}

/**
 * `/vaults/VAULT/objects/KEY`, each segment of the key escaped and its slashes kept.
 * @throws DsnApiError 400 `InvalidParameter` for a `.` or `..` segment, which the API refuses
 *   too, but which a URL resolves before it is sent (`a/../b` is `b`, `%2E` as well): the
 *   request would name another key
 */
export function objectPath(vault: string, key: string): string {
  const segments = key.split('/');
  const dots = segments.find((segment) => segment === '.' || segment === '..');
  if (dots !== undefined)
    throw new DsnApiError(
      400,
      'InvalidParameter',
      `key: must not contain "${dots}" path segments`,
      {
        field: 'key',
      },
    );
  return `${vaultPath(vault)}/objects/${segments.map(encodeURIComponent).join('/')}`;
}

export interface WriteOptions {
  contentType?: string;
  contentDisposition?: string;
  /** User metadata, sent as `x-dsn-meta-NAME` (2 KB in all). */
  meta?: Record<string, string>;
  /** Write only if the object's ETag is still this (optimistic concurrency): else 412. */
  ifMatch?: string;
  /** `*`: write only if the key does not exist yet: else 412. */
  ifNoneMatch?: '*';
}

export interface ReadOptions {
  /** Bytes `start` to `end`, both included (an HTTP Range); `end` omitted: to the end. */
  range?: { start: number; end?: number };
  /** An ETag the caller holds: the answer is a 304 with no body while it is current. */
  ifNoneMatch?: string;
  signal?: AbortSignal;
}

/** A committed write, as the API reports it. */
export interface Written {
  revision: string;
  size: number;
  sha256: string;
}

export interface UploadOptions extends Omit<WriteOptions, 'ifMatch' | 'ifNoneMatch'> {
  /** `presigned` (parts straight into S3, the default) or `staged` (parts through the API). */
  via?: 'presigned' | 'staged';
  /** Parts sent at once. */
  parallel?: number;
  /** Bytes sent so far, after each part. */
  onProgress?: (sent: number, total: number) => void;
  /** How often the write's state is polled until it commits. */
  pollMs?: number;
  /**
   * Stops the upload: no part is sent after it, parts in flight are cut off, and the upload is
   * aborted rather than completed (its staged parts are deleted, and it stops counting among
   * the caller's open uploads), as it is when a part fails. Once it is completed, the signal
   * stops only the wait for its commit: the write itself goes on.
   */
  signal?: AbortSignal;
}

/** Parts of a staged upload go through the API, whose requests carry at most 4 MiB. */
export const STAGED_PART = 4 * 1024 * 1024;

interface UploadState {
  uploadId: string;
  state: string;
  revision?: string;
  size?: number;
  sha256?: string;
  reason?: string;
  failedUnits?: number[];
}

interface RevisionState {
  state: string;
  size?: number;
  sha256?: string;
  reason?: string;
  failedUnits?: number[];
}

export class DsnClient {
  readonly transport: Transport;
  /** Typed calls of every JSON route (openapi-fetch): `{ data, error, response }`, never throws on a status. */
  readonly api: Client<paths>;

  constructor(transport: Transport) {
    this.transport = transport;
    this.api = createFetchClient<paths>({
      baseUrl: this.transport.endpoint,
      fetch: (request) => this.transport.fetch(request),
    });
  }

  /** A request through the transport that throws DsnApiError unless the status is 2xx or in `accept`. */
  async call(
    method: string,
    path: string,
    init: {
      headers?: HeadersInit;
      body?: BodyInit | null;
      signal?: AbortSignal;
      accept?: number[];
    } = {},
  ): Promise<Response> {
    const res = await this.transport.request(method, path, init);
    if (res.ok || init.accept?.includes(res.status)) return res;
    throw await apiErrorOf(res);
  }

  /** A JSON request and its JSON answer. @throws DsnApiError */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, {
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A JSON POST, its answer's status and JSON body (the client-side paths' calls). @throws DsnApiError */
  async postJson<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    const res = await this.call('POST', path, {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  /**
   * An object's bytes, streamed: the Response's body reads segment by segment, whatever the
   * size (a large object's 307 to the reader is followed). With `range`, a 206 of those bytes;
   * with `ifNoneMatch`, a 304 while unchanged. @throws DsnApiError (404, 416, 503 ...)
   */
  async getObject(vault: string, key: string, options: ReadOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (options.range) headers.range = `bytes=${options.range.start}-${options.range.end ?? ''}`;
    if (options.ifNoneMatch) headers['if-none-match'] = quoted(options.ifNoneMatch);
    return this.call('GET', objectPath(vault, key), {
      headers,
      ...(options.signal ? { signal: options.signal } : {}),
      accept: [304],
    });
  }

  /** An object's headers (content-length is its size), or undefined when there is none. */
  async headObject(vault: string, key: string): Promise<Headers | undefined> {
    const res = await this.call('HEAD', objectPath(vault, key), { accept: [404] });
    return res.status === 404 ? undefined : res.headers;
  }

  /** Writes bytes of up to the API's 4 MiB in one PUT. @throws DsnApiError (412, 503 ...) */
  async putObject(
    vault: string,
    key: string,
    body: Uint8Array | string,
    options: WriteOptions = {},
  ): Promise<Written> {
    const res = await this.call('PUT', objectPath(vault, key), {
      body: body as BodyInit,
      headers: writeHeaders(options),
    });
    return (await res.json()) as Written;
  }

  async deleteObject(vault: string, key: string): Promise<void> {
    await this.call('DELETE', objectPath(vault, key), { accept: [404] });
  }

  /**
   * Uploads a Blob (in Node, `await fs.openAsBlob(path)`) of any size in parts: presigned parts
   * go straight into S3, staged ones through the API; then the upload is completed and waited
   * on until its revision commits. Parts are read from the Blob as they are sent, so memory
   * holds `parallel` parts at most. @throws DsnApiError (503 when the write fails its threshold)
   */
  async upload(
    vault: string,
    key: string,
    blob: Blob,
    options: UploadOptions = {},
  ): Promise<Written> {
    const presigned = (options.via ?? 'presigned') === 'presigned';
    const attributes = {
      ...(options.contentType ? { contentType: options.contentType } : {}),
      ...(options.contentDisposition ? { contentDisposition: options.contentDisposition } : {}),
      ...(options.meta ? { meta: options.meta } : {}),
    };
    const opened = await this.json<
      UploadState & {
        presigned?: { partSize: number };
        urls?: Array<{ part: number; url: string }>;
      }
    >('POST', `${vaultPath(vault)}/uploads`, {
      key,
      ...attributes,
      ...(presigned ? { presigned: true, size: Math.max(1, blob.size) } : {}),
    });
    const partSize = presigned ? (opened.presigned?.partSize ?? STAGED_PART) : STAGED_PART;
    const parts = Math.max(1, Math.ceil(blob.size / partSize));
    const urls = new Map((opened.urls ?? []).map((u) => [u.part, u.url]));
    let sent = 0;
    let next = 1;
    const { signal } = options;
    const sendPart = async (part: number) => {
      signal?.throwIfAborted();
      const bytes = new Uint8Array(
        await blob.slice((part - 1) * partSize, Math.min(blob.size, part * partSize)).arrayBuffer(),
      );
      if (presigned) {
        const url = urls.get(part);
        if (!url)
          throw new DsnApiError(500, 'NoPartUrl', `the upload gave no URL for part ${part}`);
        await this.putPresigned(url, bytes, signal);
      } else {
        await this.call(
          'PUT',
          `${vaultPath(vault)}/uploads/${encodeURIComponent(opened.uploadId)}/parts/${part}`,
          {
            body: bytes,
            headers: { 'content-type': 'application/octet-stream' },
            ...(signal ? { signal } : {}),
          },
        );
      }
      sent += bytes.length;
      options.onProgress?.(sent, blob.size);
    };
    const worker = async () => {
      while (next <= parts) await sendPart(next++);
    };
    const uploadPath = `${vaultPath(vault)}/uploads/${encodeURIComponent(opened.uploadId)}`;
    try {
      await Promise.all(Array.from({ length: Math.min(parts, options.parallel ?? 4) }, worker));
      signal?.throwIfAborted();
    } catch (err) {
      // Never to be completed now: aborted, so its parts go at once and it stops counting among
      // this caller's open uploads. Best effort: one not aborted expires with its parts.
      await this.call('DELETE', uploadPath, { accept: [404, 409] }).catch(() => undefined);
      throw err;
    }
    await this.call('POST', `${uploadPath}/complete`);
    const pollMs = options.pollMs ?? 200;
    for (;;) {
      signal?.throwIfAborted();
      const u = await this.json<UploadState>('GET', uploadPath);
      if (u.state === 'committed')
        return { revision: u.revision ?? '', size: u.size ?? blob.size, sha256: u.sha256 ?? '' };
      if (u.state === 'failed') throw writeFailed(u.revision ?? u.uploadId, u);
      // Pending included: each look at the upload follows its revision until it is decided (and
      // begins the dispersal again, should a topology change fail the revision).
      await sleep(pollMs);
    }
  }

  /** Polls a write until it commits (or is already replaced by a newer one). @throws DsnApiError */
  waitForRevision(
    vault: string,
    revision: string,
    pollMs = 200,
    signal?: AbortSignal,
  ): Promise<Written> {
    return waitForRevision(this, vault, revision, pollMs, signal);
  }

  /**
   * One part to a presigned S3 URL: unsigned (the URL carries its signature), retried like any
   * call on 500, 503 and network failures, since a part PUT is idempotent.
   */
  private async putPresigned(url: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    const { attempts, baseDelayMs, maxDelayMs } = this.transport.retry;
    for (let attempt = 1; ; attempt++) {
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await fetch(url, {
          method: 'PUT',
          body: bytes as BodyInit,
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        failure = err;
      }
      if (res?.ok) return;
      const transient = res === undefined || res.status >= 500;
      if (!transient || attempt >= attempts) {
        const text = res ? await res.text().catch(() => '') : String(failure);
        throw new DsnApiError(
          res?.status ?? 0,
          'PartUploadFailed',
          `S3 refused a part: ${res ? `${res.status} ${text.slice(0, 200)}` : text}`,
        );
      }
      await res?.body?.cancel();
      await sleep(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}

function writeHeaders(options: WriteOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/octet-stream',
  };
  if (options.contentDisposition) headers['content-disposition'] = options.contentDisposition;
  for (const [name, value] of Object.entries(options.meta ?? {}))
    headers[`x-dsn-meta-${name}`] = value;
  if (options.ifMatch) headers['if-match'] = quoted(options.ifMatch);
  if (options.ifNoneMatch) headers['if-none-match'] = options.ifNoneMatch;
  return headers;
}

function quoted(etag: string): string {
  return etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`;
}

/** A JSON call, as the SDK's client and the CLI's both make it. */
export interface JsonCalls {
  json<T>(method: string, path: string): Promise<T>;
}

/**
 * Polls a write through `client` until it commits, or is committed and already replaced by a
 * newer one (the ledger's garbage). @throws WriteThresholdNotMet when it failed; the client's
 * own errors; the signal's reason
 */
export async function waitForRevision(
  client: JsonCalls,
  vault: string,
  revision: string,
  pollMs = 200,
  signal?: AbortSignal,
): Promise<Written> {
  for (;;) {
    signal?.throwIfAborted();
    const r = await client.json<RevisionState>(
      'GET',
      `${vaultPath(vault)}/revisions/${encodeURIComponent(revision)}`,
    );
    if (r.state === 'committed' || r.state === 'garbage')
      return { revision, size: r.size ?? 0, sha256: r.sha256 ?? '' };
    if (r.state === 'failed') throw writeFailed(revision, r);
    await sleep(pollMs);
  }
}

/**
 * A failed write's error, as the API answers its write: 409 TopologySuperseded when the commit
 * fence of a topology change failed it (written again, it commits), else 503
 * WriteThresholdNotMet, with its revision and the units that failed.
 */
export function writeFailed(
  revision: string,
  state: { reason?: string; failedUnits?: number[] },
): DsnApiError {
  if (isSuperseded(state.reason))
    return new DsnApiError(409, 'TopologySuperseded', `write ${revision} failed: ${state.reason}`, {
      revision,
    });
  return new DsnApiError(
    503,
    'WriteThresholdNotMet',
    `write ${revision} failed: ${state.reason ?? 'no reason given'}; units that failed: ${state.failedUnits?.join(', ') || 'none reported'}`,
    { revision, failedUnits: state.failedUnits },
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The transport every call of `@dsn/client` goes through: fetch, signed for the dsn API
 * (SigV4 over the `dsn` service, payload unsigned, as the authorizer checks), retried with
 * exponential back-off and full jitter on the answers that mean "try again": 429 and 503 from
 * the gateway or Lambda throttling (a 503, which may come after the request ran, only for a
 * method safe to repeat), and network failures of requests that are safe to repeat. An abort
 * by the caller's signal ends the retries at once, with the signal's reason.
 * The API's own 429 and 503 errors that say something about the data (a write below its
 * threshold, a lost segment, too many open uploads, a rebuild restarted too soon) are final:
 * the same request would get the same answer.
 */
import type { Credentials } from '../shared/access/sigv4.ts';

export type { Credentials };

/**
 * The headers that sign a request (see shared/access/sigv4.ts): over node:crypto in Node
 * (client/index.ts), over WebCrypto in a browser (client/web.ts).
 */
export type RequestSigner = (url: URL, method: string) => Promise<Record<string, string>>;

export interface RetryPolicy {
  /** Tries in all, the first included (1: never retry). */
  attempts: number;
  /** The first back-off's ceiling; each next one doubles, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 5_000 };

/** dsn error codes of 429 and 503 answers that a repeat of the request would get again. */
export const FINAL_CODES: ReadonlySet<string> = new Set([
  'WriteThresholdNotMet',
  'SegmentLost',
  'TooFewShards',
  'TooManyOpenUploads',
  'RestartTooSoon',
]);

/** Methods a network failure may repeat: the request either did nothing or does it again. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

export interface TransportOptions {
  /** The API's base URL, like `http://127.0.0.1:3000` or an API Gateway stage URL. */
  endpoint: string;
  /** Signs each attempt; without one, requests go unsigned (and the API answers 401). */
  signer?: RequestSigner;
  retry?: Partial<RetryPolicy>;
  /** Called once per attempt, with its outcome, for `--debug` style traces. */
  trace?: (line: string) => void;
  /** The fetch to send with (tests inject one); globalThis.fetch by default. */
  fetch?: typeof fetch;
  /** Waits between attempts (tests inject one). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** The request never reached the API, after every retry. */
export class DsnUnreachableError extends Error {
  readonly endpoint: string;
  constructor(endpoint: string, cause: unknown) {
    super(`cannot reach the dsn API at ${endpoint}: ${(cause as Error)?.message ?? cause}`, {
      cause,
    });
    this.name = 'DsnUnreachableError';
    this.endpoint = endpoint;
  }
}

export class Transport {
  readonly endpoint: string;
  readonly retry: RetryPolicy;
  private readonly signer?: RequestSigner;
  private readonly trace?: (line: string) => void;
  private readonly send: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  constructor(options: TransportOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.signer = options.signer;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.trace = options.trace;
    this.send = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.sleep =
      options.sleep ??
      ((ms, signal) =>
        new Promise((resolve) => {
          // An abort ends the wait (pause rejects): the timer goes with it, holding nothing up.
          const timer = setTimeout(resolve, ms);
          signal?.addEventListener('abort', () => clearTimeout(timer), { once: true });
        }));
    this.random = options.random ?? Math.random;
  }

  /** The URL of an API path (which starts with `/`). */
  url(path: string): string {
    return `${this.endpoint}${path}`;
  }

  /**
   * Sends `method path` with `init`'s headers and body, signed, and retries while the answer
   * says to. Bytes and strings are sent again on a retry; a stream cannot be, so a request with
   * one is tried once. Never throws on an HTTP status; throws DsnUnreachableError when the
   * network failed every attempt.
   */
  async request(
    method: string,
    path: string,
    init: { headers?: HeadersInit; body?: BodyInit | null; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const body = init.body ?? null;
    const once = body !== null && typeof body !== 'string' && !ArrayBuffer.isView(body);
    return this.fetch(
      new Request(this.url(path), {
        method,
        headers: init.headers,
        body,
        signal: init.signal,
        ...(once ? { duplex: 'half' } : {}),
      } as RequestInit),
      { once },
    );
  }

  /**
   * Sends `request` (as openapi-fetch builds them: small JSON bodies, cloned for each retry).
   * `once`: the body is a stream that must not be buffered for a retry.
   */
  async fetch(request: Request, { once = false } = {}): Promise<Response> {
    const method = request.method.toUpperCase();
    for (let attempt = 1; ; attempt++) {
      const last = once || attempt >= this.retry.attempts;
      const started = performance.now();
      let res: Response;
      try {
        res = await this.send(await this.signed(last ? request : request.clone()));
      } catch (err) {
        this.trace?.(
          `${method} ${pathOf(request.url)} -> network error: ${(err as Error).message}`,
        );
        // Stopped by its caller: the caller's reason (an AbortError), not a network failure.
        if (request.signal.aborted) throw request.signal.reason;
        if (last || !IDEMPOTENT.has(method)) throw new DsnUnreachableError(this.endpoint, err);
        await this.pause(this.backoff(attempt) ?? 0, request.signal);
        continue;
      }
      const ms = Math.round(performance.now() - started);
      this.trace?.(`${method} ${pathOf(request.url)} -> ${res.status} (${ms} ms)`);
      if (last || !(await this.retryable(res, method))) return res;
      const wait = this.backoff(attempt, res.headers.get('retry-after'));
      if (wait === undefined) return res;
      await res.body?.cancel();
      await this.pause(wait, request.signal);
    }
  }

  /** Waits `ms` between attempts, or rejects with the signal's reason once it is aborted. */
  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    let stop: () => void = () => {};
    const aborted = new Promise<never>((_resolve, reject) => {
      stop = () => reject(signal.reason);
      signal.addEventListener('abort', stop, { once: true });
    });
    try {
      await Promise.race([this.sleep(ms, signal), aborted]);
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  /** A request with the same method, URL, headers and body, plus its signature. */
  private async signed(request: Request): Promise<Request> {
    if (!this.signer) return request;
    const headers = new Headers(request.headers);
    const signature = await this.signer(new URL(request.url), request.method);
    for (const [name, value] of Object.entries(signature)) headers.set(name, value);
    return new Request(request, { headers });
  }

  /**
   * Whether an answer says "the same request later": see FINAL_CODES. A 503 that is not the
   * API's own (the gateway's: the function did not answer in time) may come after the request
   * took effect, so only an idempotent method is sent again; a 429 was refused before it ran.
   */
  private async retryable(res: Response, method: string): Promise<boolean> {
    if (res.status !== 429 && res.status !== 503) return false;
    const code = await res
      .clone()
      .json()
      .then((b: { error?: { code?: unknown } }) => b?.error?.code)
      .catch(() => undefined);
    if (typeof code === 'string' && FINAL_CODES.has(code)) return false;
    return res.status === 429 || IDEMPOTENT.has(method);
  }

  /**
   * Full jitter over an exponential ceiling, as the AWS SDKs back off. A Retry-After within
   * `maxDelayMs` is waited out; a longer one is undefined: the retries end and the caller sees
   * the answer (and decides whether to wait that long).
   */
  private backoff(attempt: number, retryAfter?: string | null): number | undefined {
    const after = retryAfter ? Number(retryAfter) * 1000 : Number.NaN;
    if (Number.isFinite(after) && after > 0)
      return after <= this.retry.maxDelayMs ? after : undefined;
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }
}

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

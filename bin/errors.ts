/**
 * What the CLI reports when a command fails. Each error becomes ONE line on stderr: what failed,
 * why, and what to do; `exitCode` is 2 for usage errors, 130 for an interrupt the command
 * cleaned up after, and 1 for everything else.
 */

/** A failure the CLI explains itself; `hint` says what to do next. */
export class CliError extends Error {
  readonly exitCode: number = 1;
  readonly hint?: string;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** The command line itself is wrong: a bad argument or option value. */
export class UsageError extends CliError {
  override readonly exitCode = 2;
}

/** SIGINT or SIGTERM stopped the command, which says what it left (exit code 130, as a shell's). */
export class InterruptedError extends CliError {
  override readonly exitCode = 130;
}

/** The API answered with an error status; `code` is its error code (`VaultNotFound`, ...). */
export class ApiError extends CliError {
  readonly status: number;
  readonly code: string;
  /** Extra fields of the error body (`failedUnits`, `revision`). */
  readonly details: Record<string, unknown>;
  constructor(
    status: number,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    options?: { hint?: string },
  ) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Nothing answered at the endpoint. */
export class UnreachableError extends CliError {
  readonly endpoint: string;
  constructor(endpoint: string, cause: unknown) {
    const local = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(endpoint);
    // Refused on loopback is the usual case, and the hint says all there is to say about it.
    let reason = networkReason(cause);
    if (local && reason === 'ECONNREFUSED') reason = undefined;
    super(`cannot reach ${endpoint}${reason ? ` (${reason})` : ''}`, {
      cause,
      hint: local
        ? 'is the local cloud running? (npm start)'
        : 'check --endpoint or DSN_ENDPOINT, and the network',
    });
    this.endpoint = endpoint;
  }
}

/** The innermost reason a fetch failed: a system error code, else its message. */
function networkReason(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined;
  let reason: string | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string') return e.code;
    if (typeof e.message === 'string' && e.message !== 'fetch failed') reason = e.message;
    e = e.cause as typeof e;
  }
  return reason;
}

/** What the failing command was about, for hints that name the vault or key. */
export interface ErrorContext {
  vault?: string;
  key?: string;
}

/** A hint for an API error code, when the API's message alone does not say what to do. */
function apiHint(err: ApiError, ctx: ErrorContext): string | undefined {
  const vault = ctx.vault ?? 'VAULT';
  switch (err.code) {
    case 'VaultNotFound':
      return `Create it with: dsn vault create ${vault} (see dsn vault ls for the vaults there are)`;
    case 'ObjectNotFound':
      return `See what is there with: dsn ls ${vault}`;
    case 'ListenerNotFound':
      return `See the listeners there are with: dsn listen ls ${vault}`;
    case 'VaultExists':
      return `Pick another name, or see it with: dsn vault show ${vault}`;
    case 'WriteThresholdNotMet':
      return 'Too few units confirmed the write; see dsn unit ls, bring units back (dsn unit up UNIT) and retry';
    case 'SegmentLost':
    case 'TooFewShards':
      return `Fewer than k pillars are readable; see dsn explain ${vault}/${ctx.key ?? 'KEY'}, then dsn rebuild ${vault}`;
    case 'MissingAuthentication':
      return 'No credentials found: set DSN_ACCESS_KEY_ID and DSN_SECRET_ACCESS_KEY, or run where npm start keeps .dsn/credentials.json (or set DSN_DATA_DIR)';
    case 'InvalidSignature':
    case 'InvalidAccessKeyId':
      return 'Check DSN_ACCESS_KEY_ID / DSN_SECRET_ACCESS_KEY (or credentials.json) and DSN_REGION';
    case 'RequestTimeTooSkewed':
      return "This machine's clock is more than 15 minutes off; set it right";
    case 'AccessDenied':
      return "The key's policy does not allow this; ask an admin (dsn key create)";
    case 'Internal':
      return 'The service failed; its function log says why (the local cloud prints it)';
    default:
      return err.status >= 500 ? 'The service may be overloaded or restarting; retry' : undefined;
  }
}

/** The one line printed for a failed command (without the `dsn: ` prefix). */
export function describeError(action: string, err: unknown, ctx: ErrorContext = {}): string {
  const flat = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  if (err instanceof ApiError) {
    const hint = err.hint ?? apiHint(err, ctx);
    const code = err.code ? ` ${err.code}` : '';
    return flat(
      `${action} failed: ${err.message} (${err.status}${code})${hint ? `. ${hint}` : ''}`,
    );
  }
  if (err instanceof CliError) {
    return flat(`${action} failed: ${err.message}${err.hint ? `: ${err.hint}` : ''}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return flat(`${action} failed: ${message} (run with --debug for the stack)`);
}

/**
 * Logging, as a port: one structured line per call, with fields. The deployment's adapter
 * (`shared/aws/logger.ts`) writes JSON through Powertools' logger; tests collect lines.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  /** `error` is described with its `cause` chain and stack (see `describeError`). */
  error(message: string, error?: unknown, fields?: LogFields): void;
}

/** A logger that drops every line: for callers whose logs a test does not look at. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

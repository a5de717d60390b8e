/**
 * Errors described for a log line: name, message, the context fields a DsnError carries, the
 * stack, and the chain of causes; and the string form of anything thrown, which never throws.
 */

/** An error as a log line carries it: name, message, context fields, stack, and its causes. */
export interface ErrorDescription {
  name: string;
  message: string;
  stack?: string;
  fields?: Record<string, unknown>;
  cause?: ErrorDescription | { value: string };
}

const MAX_CAUSES = 8;

/**
 * `String(value)` that cannot throw: an object without a usable `toString` (`{toString: null}`,
 * `Object.create(null)`) gets its JSON or its tag instead, so describing a failure never fails.
 */
export function stringOf(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return JSON.stringify(value) ?? Object.prototype.toString.call(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
}

/**
 * Describes `err` for a log line, following its `cause` chain (up to eight deep, so a cycle
 * ends), with the context fields a DsnError carries. Anything thrown that is not an Error is
 * described by its string form.
 */
export function describeError(err: unknown, depth = 0): ErrorDescription {
  if (!(err instanceof Error)) return { name: 'NonError', message: stringOf(err) };
  const { name, message, stack, cause } = err;
  const description: ErrorDescription = { name, message };
  if (stack !== undefined) description.stack = stack;
  const fields = Object.fromEntries(
    Object.entries(err).filter(([k]) => !['name', 'message', 'stack', 'cause'].includes(k)),
  );
  if (Object.keys(fields).length > 0) description.fields = fields;
  if (cause !== undefined && depth < MAX_CAUSES) {
    description.cause =
      cause instanceof Error ? describeError(cause, depth + 1) : { value: stringOf(cause) };
  }
  return description;
}

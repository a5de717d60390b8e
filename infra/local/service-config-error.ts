/**
 * How serverless.yml is checked where the local cloud reads it (service.ts and the parsers it
 * uses): a problem is named by the field where it is.
 */

/** A problem in serverless.yml, named by the field where it is. */
export class ServiceConfigError extends Error {
  override name = 'ServiceConfigError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`serverless.yml ${field}: ${message}`);
    this.field = field;
  }
}

/** A YAML mapping (not a list, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

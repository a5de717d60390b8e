/**
 * The Logger port over Powertools' logger: JSON lines with the service, the level, the Lambda
 * context where there is one, and errors described with their causes.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { describeError } from '../describe-error.ts';
import type { LogFields, Logger } from '../log.ts';

/** A logger for `system` (store, repair, ...) of this deployment's `service`. */
export function powertoolsLogger(service: string, system: string): Logger {
  const log = new PowertoolsLogger({ serviceName: service, persistentKeys: { system } });
  return {
    debug: (message, fields?: LogFields) => log.debug(message, { ...fields }),
    info: (message, fields?: LogFields) => log.info(message, { ...fields }),
    warn: (message, fields?: LogFields) => log.warn(message, { ...fields }),
    error: (message, error?: unknown, fields?: LogFields) =>
      log.error(message, {
        ...fields,
        ...(error === undefined ? {} : { error: describeError(error) }),
      }),
  };
}

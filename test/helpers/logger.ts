import { describeError, type ErrorDescription } from '../../shared/describe-error.ts';
import type { LogFields, Logger } from '../../shared/log.ts';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
  error?: ErrorDescription;
}

/** A Logger that keeps its lines for the test to read. */
export class MemoryLogger implements Logger {
  readonly lines: LogLine[] = [];
  debug(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  info(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(message: string, error?: unknown, fields: LogFields = {}): void {
    const line: LogLine = { level: 'error', message, fields };
    if (error !== undefined) line.error = describeError(error);
    this.lines.push(line);
  }
}

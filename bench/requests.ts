/**
 * The HTTP requests the emulators in this process serve, counted on Node's
 * `http.server.request.start` diagnostics channel while a counting is open: by service (SQS
 * and DynamoDB by their `x-amz-target`, SNS by its form body, S3 the rest), and, for the
 * breakdown, by operation (`DynamoDB.UpdateItem`, `SQS.ReceiveMessage`, `S3.PUT`); DynamoDB's
 * also by table, as the local cloud's dynalite publishes them (`DYNAMODB_REQUEST_CHANNEL`).
 */
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { DYNAMODB_REQUEST_CHANNEL } from '../infra/local/dynamodb.ts';

/** Counts per service, and per service and operation. */
export interface Served {
  services: Map<string, number>;
  operations: Map<string, number>;
  /** DynamoDB requests by operation and table: `GetItem RevisionsTable`. */
  tables: Map<string, number>;
}

export const served = (): Served => ({
  services: new Map(),
  operations: new Map(),
  tables: new Map(),
});

let countingInto: Served | undefined;

function add(into: Map<string, number>, key: string): void {
  into.set(key, (into.get(key) ?? 0) + 1);
}

subscribe('http.server.request.start', (message) => {
  if (!countingInto) return;
  const req = (message as { request: IncomingMessage }).request;
  const target = String(req.headers['x-amz-target'] ?? '');
  const op = target.slice(target.lastIndexOf('.') + 1);
  const [service, operation] = target.startsWith('AmazonSQS')
    ? ['SQS', op]
    : target.startsWith('DynamoDB')
      ? ['DynamoDB', op]
      : String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
        ? ['SNS', 'Publish']
        : ['S3', req.method ?? ''];
  add(countingInto.services, service);
  add(countingInto.operations, `${service}.${operation}`);
});

subscribe(DYNAMODB_REQUEST_CHANNEL, (message) => {
  if (!countingInto) return;
  const { operation, tables } = message as { operation: string; tables: string[] };
  // The stack's prefix (`dsn-bench-`) is the same for every table: the logical name says it.
  for (const table of tables)
    add(countingInto.tables, `${operation} ${table.slice(table.lastIndexOf('-') + 1)}`);
});

/** Runs `f` counting into `into` (one counting at a time). */
export async function countRequests<T>(into: Served, f: () => Promise<T>): Promise<T> {
  countingInto = into;
  try {
    return await f();
  } finally {
    countingInto = undefined;
  }
}

/**
 * Takes back `n` DynamoDB requests that the benchmark itself made inside a counting (its own
 * reads of a revision, say), from the service's, the operation's and the table's counts alike.
 */
export function uncountDynamoDb(into: Served, operation: string, table: string, n: number): void {
  for (const [counts, key] of [
    [into.services, 'DynamoDB'],
    [into.operations, `DynamoDB.${operation}`],
    [into.tables, `${operation} ${table}`],
  ] as const)
    counts.set(key, (counts.get(key) ?? 0) - n);
}

/** All requests served, per `count` (per PUT, per object). */
export function totalPer(into: Served, count: number): number {
  return [...into.services.values()].reduce((a, b) => a + b, 0) / count;
}

/** `total (S3 1.0, SQS 2.0, ...)`, per `count` (per PUT, per object). */
export function requestsPer(into: Served, count: number): string {
  const parts = [...into.services].sort().map(([k, v]) => `${k} ${(v / count).toFixed(1)}`);
  return `${totalPer(into, count).toFixed(1)} (${parts.join(', ')})`;
}

/** `key count, ...`, most frequent first, per `count`. */
function mostFirst(counts: Map<string, number>, count: number): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${(v / count).toFixed(1)}`)
    .join(', ');
}

/** The operations, most frequent first, per `count`: `DynamoDB.UpdateItem 3.1, ...`. */
export function operationsPer(into: Served, count: number): string {
  return mostFirst(into.operations, count);
}

/** DynamoDB's requests by operation and table, most frequent first, per `count`. */
export function tablesPer(into: Served, count: number): string {
  return mostFirst(into.tables, count);
}

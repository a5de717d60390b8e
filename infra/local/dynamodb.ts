/**
 * DynamoDB for the local cloud: dynalite (LevelDB on disk under `<dataDir>/dynamodb`). Tables
 * become ACTIVE at once, as there is nothing to wait for locally. Before it serves, its
 * secondary indexes are put back in step with their tables (dynamodb-indexes.ts): a kill can
 * leave them apart, which DynamoDB's never stay.
 */

import { channel } from 'node:diagnostics_channel';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repairIndexes } from './dynamodb-indexes.ts';
import { interpose } from './interpose.ts';
import { listenLoopback } from './ports.ts';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (opts: Record<string, unknown>) => Server;

/**
 * Each request dynalite serves, as `{ operation, tables }` (`GetItem`, `['dsn-RevisionsTable']`),
 * published on this diagnostics channel while anything subscribes (bench/requests.ts counts
 * requests by table). The body is read beside dynalite's own reading, only then.
 */
export const DYNAMODB_REQUEST_CHANNEL = 'dsn:dynamodb.request';
const requests = channel(DYNAMODB_REQUEST_CHANNEL);

/** The tables a DynamoDB request's JSON body names: its `TableName`, or those of its items. */
export function tablesOf(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const b = body as {
    TableName?: unknown;
    RequestItems?: unknown;
    TransactItems?: unknown;
  };
  if (typeof b.TableName === 'string') return [b.TableName];
  if (typeof b.RequestItems === 'object' && b.RequestItems !== null)
    return Object.keys(b.RequestItems);
  if (Array.isArray(b.TransactItems)) {
    const names = new Set<string>();
    for (const item of b.TransactItems as Array<Record<string, { TableName?: unknown }>>)
      for (const action of Object.values(item ?? {}))
        if (typeof action?.TableName === 'string') names.add(action.TableName);
    return [...names];
  }
  return [];
}

/** Publishes the request's operation and tables once its body is in (beside dynalite's read). */
function publishRequest(req: IncomingMessage): void {
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = target.slice(target.lastIndexOf('.') + 1);
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let tables: string[] = [];
    try {
      tables = tablesOf(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      // A body that is not JSON: dynalite answers it with its own error.
    }
    requests.publish({ operation, tables });
  });
}

/** At most this long is spent waiting for dynalite to answer requests in flight at stop. */
const IDLE_WAIT_MS = 5000;

export interface DynamoDbOptions {
  port: number;
  dataDir: string;
  portVariable: string;
  /**
   * Sees the emulator's HTTP server before it listens: the work table's unit faults, then the
   * loopback gate in front of everything (dynalite only).
   */
  onServer?: (server: Server) => void;
  /** Where a line goes when the start finds indexes to repair. */
  log?: (line: string) => void;
}

export interface DynamoDbHandle {
  url: string;
  port: number;
  /** `idleWaitMs` bounds the wait for requests in flight (default 5 s). */
  stop(idleWaitMs?: number): Promise<void>;
}

export async function startDynamoDb(opts: DynamoDbOptions): Promise<DynamoDbHandle> {
  const path = join(opts.dataDir, 'dynamodb');
  await mkdir(path, { recursive: true });
  for (const r of await repairIndexes(path))
    opts.log?.(
      `dynamodb: index ${r.index} of ${r.table} was out of step with its table (a kill between dynalite's writes): ${r.put} entries written, ${r.removed} removed`,
    );
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // dynalite goes on working on a request whose client has gone (a function's worker thread
  // terminated by stop) and writes after answering; a write that starts once its store is
  // closed throws out of dynalite. So requests are counted until dynalite has answered them,
  // plus a turn of the event loop for the writes that follow, and the store closes at zero.
  let active = 0;
  let onIdle: (() => void) | undefined;
  interpose(server, (req, res, pass) => {
    active++;
    let answered = false;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      if (!answered) {
        answered = true;
        setImmediate(() => {
          active--;
          if (active === 0) onIdle?.();
        });
      }
      return end(...args);
    }) as ServerResponse['end'];
    // Listening on the body switches it to flowing, so this comes right before dynalite's own
    // listeners, which pass adds in the same turn: neither misses a chunk.
    if (requests.hasSubscribers) publishRequest(req);
    pass(req, res);
  });
  opts.onServer?.(server);
  const port = await listenLoopback(server, opts.port, opts.portVariable);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: async (idleWaitMs = IDLE_WAIT_MS) => {
      // Bounded, so a request dynalite never answers cannot hold the stop forever.
      if (active > 0) {
        await new Promise<void>((resolve) => {
          onIdle = resolve;
          setTimeout(resolve, idleWaitMs).unref();
        });
      }
      await new Promise<void>((resolve, reject) => {
        // dynalite's close also waits for the store's pending operations. Every request has
        // been answered (or given up on) by now, so no connection is left to wait for: one
        // a client keeps open, idle or not, would otherwise hold the close as long as it likes.
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

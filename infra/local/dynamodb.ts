/**
 * DynamoDB for the local cloud: dynalite (LevelDB on disk under `<dataDir>/dynamodb`). Tables
 * become ACTIVE at once, as there is nothing to wait for locally.
 */

import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { listenLoopback } from './ports.ts';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (opts: Record<string, unknown>) => Server;

export interface DynamoDbOptions {
  port: number;
  dataDir: string;
  portVariable: string;
}

export interface DynamoDbHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startDynamoDb(opts: DynamoDbOptions): Promise<DynamoDbHandle> {
  const path = join(opts.dataDir, 'dynamodb');
  await mkdir(path, { recursive: true });
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listenLoopback(server, opts.port, opts.portVariable);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        // Requests in flight finish first (dynalite writes after answering, and a write to a
        // closed store throws); idle keep-alive connections close at once.
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

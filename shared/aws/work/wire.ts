/**
 * The work system's wiring: what the HTTP API needs to add, list, show and cancel items, and
 * the worker (the Lambda function and `dsn work run`), which also reads and writes objects
 * through the store. Each reads only its own configuration.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../config.ts';
import {
  builtInOps,
  DEFAULT_LEASE_MS,
  storeObjectAccess,
  type WorkerDeps,
  type WorkListDeps,
} from '../../work/index.ts';
import type { Runtime } from '../runtime.ts';
import { wireReader, wireVaults, wireWriter } from '../store/wire.ts';
import { SqsWorkNudge } from './work-nudge.ts';
import { DynamoWorkStore } from './work-store.ts';

/** The work list: the table, the vaults, the ops (to check args), and the nudge. */
export function wireWork(rt: Runtime): WorkListDeps {
  const config = loadConfig(rt.env, ['workTable', 'workQueueUrl']);
  return {
    store: new DynamoWorkStore(rt.clients.documents, config.workTable),
    vaults: wireVaults(rt),
    ops: builtInOps(),
    clock: rt.clock,
    nudge: new SqsWorkNudge(rt.clients.sqs, config.workQueueUrl),
  };
}

/** A worker named `owner` (default: a fresh name per process), and the vaults it sweeps. */
export function wireWorker(rt: Runtime, owner = `worker-${randomUUID().slice(0, 8)}`) {
  const config = loadConfig(rt.env, ['workMaxAttempts']);
  const list = wireWork(rt);
  // Only reads and writes: the worker's environment has no listener or delete-path variables.
  const reader = wireReader(rt);
  const { writer, commitWaitMs } = wireWriter(rt);
  const deps: WorkerDeps = {
    store: list.store,
    ops: list.ops,
    objects: (vault, as) => storeObjectAccess({ reader, writer, commitWaitMs }, vault, as),
    clock: rt.clock,
    log: rt.log,
    owner,
    leaseMs: DEFAULT_LEASE_MS,
    maxAttempts: config.workMaxAttempts,
  };
  return { deps, vaults: list.vaults };
}

/**
 * A work world in memory: a vault, the memory WorkStore, a `count` op whose effects the test
 * reads (keyed by item, as an op's deterministic output key would be), and workers.
 */
import { z } from 'zod';
import type { Vault } from '../../../shared/store/index.ts';
import {
  builtInOps,
  DEFAULT_MAX_ATTEMPTS,
  type ObjectAccess,
  type WorkerDeps,
  type WorkerHooks,
  type WorkListDeps,
} from '../../../shared/work/index.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryLogger } from '../../helpers/logger.ts';
import { MemoryVaultStore, MemoryWorkStore } from '../../helpers/memory/index.ts';

export const LEASE_MS = 30_000;

export function vaultOf(width = 6, readThreshold = 4, writeThreshold = 5): Vault {
  return {
    name: 'jobs',
    width,
    readThreshold,
    writeThreshold,
    segmentSize: 64 * 1024,
    units: [...Array(width).keys()],
    address: 'vault/jobs',
    createdAt: '2026-12-01T00:00:00.000Z',
  };
}

const noObjects: ObjectAccess = {
  async *list() {},
  open: async () => {
    throw new Error('no objects in this world');
  },
  write: async () => {
    throw new Error('no objects in this world');
  },
};

/**
 * The memory store, but every conditional write on an item or slice is sent twice, the second
 * at once after the first applied: as the SDK sends a request again whose answer it lost.
 */
export class AnswersLostWorkStore extends MemoryWorkStore {
  override async reserve(...args: Parameters<MemoryWorkStore['reserve']>) {
    await super.reserve(...args);
    return super.reserve(...args);
  }

  override async lockSlice(...args: Parameters<MemoryWorkStore['lockSlice']>) {
    await super.lockSlice(...args);
    return super.lockSlice(...args);
  }

  override async update(...args: Parameters<MemoryWorkStore['update']>) {
    await super.update(...args);
    return super.update(...args);
  }
}

export function workWorld(
  vault = vaultOf(),
  options: { jitterSeed?: number; store?: MemoryWorkStore } = {},
) {
  const clock = new ManualClock();
  const store = options.store ?? new MemoryWorkStore(options);
  const vaults = new MemoryVaultStore([vault]);
  const log = new MemoryLogger();
  /** Completed runs of `count` per item id, and the output keys it wrote (a set: a rewrite is one). */
  const runs = new Map<string, number>();
  const outputs = new Set<string>();
  /** Gates by item id: the op waits on one until the test opens it. */
  const gates = new Map<string, Promise<void>>();
  /** Failures left per item id before `count` succeeds. */
  const failures = new Map<string, number>();
  const ops = builtInOps().register('count', {
    args: z.strictObject({ n: z.number().optional() }),
    async run(ctx) {
      await gates.get(ctx.id);
      const left = failures.get(ctx.id) ?? 0;
      if (left > 0) {
        failures.set(ctx.id, left - 1);
        throw new Error(`count failed on purpose (${left} left)`);
      }
      runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
      outputs.add(`out/${ctx.id}`);
      return { counted: true };
    },
  });
  const list: WorkListDeps = { store, vaults, ops, clock };
  /** Claims seen, in order: which worker, which item, which token, owned or not. */
  const claims: Array<{ worker: string; id: string; token: number; owned: boolean; why?: string }> =
    [];
  /** Items passed over without a round of unit locks (held by another, or backing off). */
  const held: Array<{ worker: string; id: string }> = [];
  const worker = (owner: string, hooks: WorkerHooks = {}): WorkerDeps => ({
    store,
    ops,
    objects: () => noObjects,
    clock,
    log,
    owner,
    leaseMs: LEASE_MS,
    maxAttempts: DEFAULT_MAX_ATTEMPTS,
    hooks: {
      ...hooks,
      claimed: (item, token, owned, why) =>
        claims.push({ worker: owner, id: item.id, token, owned, why }),
      held: (item) => held.push({ worker: owner, id: item.id }),
    },
  });
  return {
    clock,
    store,
    vaults,
    log,
    ops,
    list,
    worker,
    runs,
    outputs,
    gates,
    failures,
    claims,
    held,
    vault,
  };
}

/** A promise and the function that settles it. */
export function gate(): { wait: Promise<void>; open: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { wait: promise, open: () => resolve() };
}

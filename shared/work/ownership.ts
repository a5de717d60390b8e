/**
 * Ownership of a work item by lock-read-delete (seed 001): a fresh fencing token, then one
 * conditional write per unit holding a function slice that locks it and returns it; the worker
 * owns the item when at least the ownership threshold of units answered favorably and their
 * slices decode to the item. Otherwise it releases what it got and moves on.
 */
import { describeError } from '../errors.ts';
import { checkFunctionSlice, decodeDefinition } from './function-slice.ts';
import type { WorkStore } from './ports.ts';
import { OPEN_STATES, type WorkDefinition, type WorkRecord } from './work-item.ts';

/**
 * Units that must lock an item for one worker to own it: at least T, and a strict majority, so
 * two workers can never both hold it (two majorities of one set intersect).
 */
export function ownershipThreshold(width: number, writeThreshold: number): number {
  return Math.max(writeThreshold, Math.floor(width / 2) + 1);
}

export interface ClaimDeps {
  store: WorkStore;
  owner: string;
  leaseMs: number;
  now: () => number;
}

export type Claim =
  | { owned: true; token: number; definition: WorkDefinition }
  /**
   * `contended`: other workers hold units (or took the item first); `units`: too many units
   * failed for anyone to own it now (the reason is on the record); `gone`: no longer open.
   */
  | { owned: false; token: number; why: 'contended' | 'units' | 'gone'; detail: string };

/** Tries to take `record`; never throws for a unit's failure. */
export async function claimItem(deps: ClaimDeps, record: WorkRecord): Promise<Claim> {
  const { store } = deps;
  const { vault, seq, units } = record;
  const width = units.length;
  const threshold = ownershipThreshold(width, record.writeThreshold);
  const token = await store.newToken(vault, seq);
  const now = deps.now();
  const lock = { owner: deps.owner, token, leaseUntil: now + deps.leaseMs };
  const answers = await Promise.allSettled(
    units.map((unit) => store.lockSlice(vault, seq, unit, lock, now)),
  );
  const shape = { vault, seq, width, readThreshold: record.readThreshold };
  const slices: Array<Uint8Array | null> = answers.map((a, pillar) =>
    a.status === 'fulfilled' && a.value && checkFunctionSlice(a.value, shape, pillar)
      ? a.value
      : null,
  );
  // Locked by us, whether or not the slice checked out: those are released on a refusal.
  const locked = units.filter((_, i) => answers[i]?.status === 'fulfilled' && answers[i].value);
  const favorable = slices.filter((s) => s !== null).length;
  // The units that failed, each with its error.
  const failed = answers.flatMap((a, i) =>
    a.status === 'rejected' ? [`${units[i]} (${describeError(a.reason).message})`] : [],
  );

  const refuse = async (why: 'contended' | 'units' | 'gone', detail: string): Promise<Claim> => {
    await releaseLocks(store, record, token, locked);
    return { owned: false, token, why, detail };
  };

  if (favorable < threshold) {
    const detail = `${favorable} of ${width} units answered favorably, ${threshold} needed${
      failed.length > 0 ? `; units failed: ${failed.join(', ')}` : ''
    }`;
    // Too many units down for anyone: say so on the record, which stays queued.
    if (failed.length > width - threshold) {
      await store.update(vault, seq, { reason: detail }, { states: ['queued'] });
      return refuse('units', detail);
    }
    return refuse('contended', detail);
  }
  let definition: WorkDefinition;
  try {
    definition = decodeDefinition(slices, shape);
  } catch (err) {
    return refuse('contended', `the slices do not decode: ${describeError(err).message}`);
  }
  if (definition.seq !== seq || definition.vault !== vault)
    return refuse('contended', `the slices decode to item ${definition.seq}, not ${seq}`);
  const started = await store.update(
    vault,
    seq,
    {
      state: 'running',
      token,
      owner: deps.owner,
      leaseUntil: lock.leaseUntil,
      attempts: record.attempts + 1,
      startedAt: new Date(now).toISOString(),
      reason: undefined,
    },
    { states: OPEN_STATES, tokenBelow: token },
  );
  if (!started) return refuse('gone', 'the item was cancelled, finished or taken meanwhile');
  return { owned: true, token, definition };
}

/** Unlocks `units`' slices where they are still locked with `token`; failures are ignored. */
export async function releaseLocks(
  store: WorkStore,
  record: Pick<WorkRecord, 'vault' | 'seq'>,
  token: number,
  units: number[],
): Promise<void> {
  await Promise.allSettled(
    units.map((unit) => store.releaseSlice(record.vault, record.seq, unit, token)),
  );
}

/**
 * Moves the owner's lease on, at the units and in the catalog. False when the catalog no
 * longer names this token: ownership is lost, and nothing the owner records will stand.
 */
export async function renewLease(
  store: WorkStore,
  record: Pick<WorkRecord, 'vault' | 'seq' | 'units'>,
  token: number,
  leaseUntil: number,
): Promise<boolean> {
  await Promise.allSettled(
    record.units.map((unit) => store.renewSlice(record.vault, record.seq, unit, token, leaseUntil)),
  );
  return store.update(record.vault, record.seq, { leaseUntil }, { token, states: ['running'] });
}

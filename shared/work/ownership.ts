/**
 * Ownership of a work item by lock-read-delete (seed 001): a reservation on the record issues a
 * fresh fencing token (and turns away the workers racing for the same item before they ask any
 * unit), then one conditional write per unit holding a function slice locks it and returns it;
 * the worker owns the item when at least the ownership threshold of units answered favorably
 * and their slices decode to the item. Otherwise it releases what it got, undoes the
 * reservation and moves on.
 */
import { describeError } from '../errors.ts';
import { checkFunctionSlice, decodeDefinition } from './function-slice.ts';
import type { WorkStore } from './ports.ts';
import type { WorkDefinition, WorkRecord } from './work-item.ts';

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
  | { owned: true; token: number; definition: WorkDefinition; record: WorkRecord }
  /**
   * `held`: another worker holds or is taking the item, it waits for its backoff, or it is no
   * longer open (no token issued: no unit was asked); `contended`: other workers hold units;
   * `units`: too many units failed for anyone to own it now (the reason is on the record).
   */
  | {
      owned: false;
      token: number;
      why: 'held' | 'contended' | 'units';
      detail: string;
    };

/**
 * Tries to take `record`: reserves it (one conditional write on the record that starts the
 * attempt and issues the fencing token), then lock-read-delete at its units; a refusal undoes
 * the reservation. Never throws for a unit's failure.
 */
export async function claimItem(deps: ClaimDeps, record: WorkRecord): Promise<Claim> {
  const { store } = deps;
  const { vault, seq } = record;
  const now = deps.now();
  const leaseUntil = now + deps.leaseMs;
  const startedAt = new Date(now).toISOString();
  const was = await store.reserve(vault, seq, { owner: deps.owner, leaseUntil, startedAt }, now);
  if (!was) return { owned: false, token: 0, why: 'held', detail: 'held, waiting or finished' };
  const token = was.token + 1;
  const answer = await lockReadDelete(deps, was, token, leaseUntil);
  if (!answer.owned) {
    await releaseLocks(store, record, token, answer.locked);
    // The attempt never started: the record is as it was, so the next worker need not wait
    // for this lease; a queued item learns why nobody can take it.
    await store.update(
      vault,
      seq,
      {
        state: was.state,
        attempts: was.attempts,
        startedAt: was.startedAt,
        owner: undefined,
        leaseUntil: undefined,
        reason: answer.why === 'units' && was.state === 'queued' ? answer.detail : was.reason,
      },
      { token },
    );
    return { owned: false, token, why: answer.why, detail: answer.detail };
  }
  const { reason: _reason, ...rest } = was;
  return {
    owned: true,
    token,
    definition: answer.definition,
    record: {
      ...rest,
      state: 'running',
      token,
      owner: deps.owner,
      leaseUntil,
      attempts: was.attempts + 1,
      startedAt,
    },
  };
}

type Answer =
  | { owned: true; definition: WorkDefinition; locked: number[] }
  | { owned: false; why: 'contended' | 'units'; detail: string; locked: number[] };

/**
 * The seed's lock-read-delete: one conditional write per unit holding a slice, each locking
 * it for `token` and returning it. Favorable when at least the ownership threshold of units
 * answered with sound slices that decode to the item. Releases nothing: `locked` says which
 * units the caller must release on a refusal.
 */
export async function lockReadDelete(
  deps: Pick<ClaimDeps, 'store' | 'owner' | 'now'>,
  record: WorkRecord,
  token: number,
  leaseUntil: number,
): Promise<Answer> {
  const { store } = deps;
  const { vault, seq, units } = record;
  const width = units.length;
  const threshold = ownershipThreshold(width, record.writeThreshold);
  const now = deps.now();
  const lock = { owner: deps.owner, token, leaseUntil };
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
  if (favorable < threshold) {
    const detail = `${favorable} of ${width} units answered favorably, ${threshold} needed${
      failed.length > 0 ? `; units failed: ${failed.join(', ')}` : ''
    }`;
    // Too many units down for anyone (the caller says so on the record, which stays queued).
    return {
      owned: false,
      why: failed.length > width - threshold ? 'units' : 'contended',
      detail,
      locked,
    };
  }
  let definition: WorkDefinition;
  try {
    definition = decodeDefinition(slices, shape);
  } catch (err) {
    return {
      owned: false,
      why: 'contended',
      detail: `the slices do not decode: ${describeError(err).message}`,
      locked,
    };
  }
  if (definition.seq !== seq || definition.vault !== vault)
    return {
      owned: false,
      why: 'contended',
      detail: `the slices decode to item ${definition.seq}, not ${seq}`,
      locked,
    };
  return { owned: true, definition, locked };
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

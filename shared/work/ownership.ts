/**
 * Ownership of a work item by lock-read-delete (seed 001): a reservation on the record issues a
 * fresh fencing token (and turns away the workers racing for the same item before they ask any
 * unit), then one conditional write per unit holding a function slice locks it and returns it
 * (the ownership threshold of units first, the others only when some of those refuse);
 * the worker owns the item when at least the ownership threshold of units answered favorably
 * and their slices decode to the item. Otherwise it releases what it got, undoes the
 * reservation and moves on.
 */
import { describeError } from '../describe-error.ts';
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
 * The units asked first, of `units` (the item's, in pillar order), by pillar: `threshold` of
 * them from pillar `seq % width` on, wrapping around. The rotation spreads the first askings of
 * consecutive items over all the units; it is the same for every worker, so racing workers
 * (which the reservation keeps apart anyway) ask the same units and do not split them.
 */
export function firstAsked(seq: number, width: number, threshold: number): number[] {
  return Array.from({ length: threshold }, (_, i) => (seq + i) % width);
}

/**
 * The seed's lock-read-delete: one conditional write per unit holding a slice, each locking
 * it for `token` and returning it. Favorable when at least the ownership threshold of units
 * answered with sound slices that decode to the item. Releases nothing: `locked` says which
 * units the caller must release on a refusal.
 *
 * The units are asked in two waves, each unit at most once: first the ownership threshold of
 * them (`firstAsked`), then, only when those did not make the item owned (a unit refused,
 * failed, or the slices did not decode), all the others. When
 * the first wave answers favorably the others are never asked: their locks could not change
 * the judgment. This is as safe as asking all at once: the threshold is a strict majority of
 * the units, so while this token holds the threshold locks (until their lease ends) no other
 * token can gather the threshold, whatever the unasked units answer it; the delete goes to all
 * `n` units (a final record fences everything anyway), a takeover after the lease asks afresh,
 * and renewals go to all units (the unlocked ones refuse, as they would a lost lock). A unit
 * failing or refusing in the first wave costs a second wave, which sees every unit's answer as
 * before, so the judgment between `contended` and `units` is unchanged.
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
  const lock = { owner: deps.owner, token, leaseUntil };
  const shape = { vault, seq, width, readThreshold: record.readThreshold };
  // By pillar: the unit's answer, once asked.
  const answers: Array<PromiseSettledResult<Uint8Array | undefined> | undefined> = new Array(width);
  const ask = async (pillars: number[]) => {
    const now = deps.now();
    const got = await Promise.allSettled(
      pillars.map((p) => store.lockSlice(vault, seq, units[p] as number, lock, now)),
    );
    pillars.forEach((p, i) => {
      answers[p] = got[i];
    });
  };
  const sound = (pillar: number): Uint8Array | null => {
    const a = answers[pillar];
    return a?.status === 'fulfilled' && a.value && checkFunctionSlice(a.value, shape, pillar)
      ? a.value
      : null;
  };
  const judge = (): Answer => {
    const slices = units.map((_, pillar) => sound(pillar));
    // Locked by us, whether or not the slice checked out: those are released on a refusal.
    const locked = units.filter((_, i) => {
      const a = answers[i];
      return a?.status === 'fulfilled' && a.value !== undefined;
    });
    const favorable = slices.filter((s) => s !== null).length;
    // The units that failed, each with its error.
    const failed = answers.flatMap((a, i) =>
      a?.status === 'rejected' ? [`${units[i]} (${describeError(a.reason).message})`] : [],
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
  };
  const first = firstAsked(seq, width, threshold);
  await ask(first);
  const answer = judge();
  if (answer.owned || first.length === width) return answer;
  // Some of the first refused, failed, or did not decode: the others are asked, once each.
  await ask(units.flatMap((_, p) => (first.includes(p) ? [] : [p])));
  return judge();
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

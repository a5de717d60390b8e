/**
 * A worker: finds the next eligible item of a vault's work list in sequence order, takes it by
 * lock-read-delete (`ownership.ts`), runs its op while renewing the lease, then records the
 * outcome and deletes the function slices, both conditional on its fencing token. When it
 * cannot own an item it moves on to the next one in order (the seed's "another next
 * function"). Lambda workers and `dsn work run` both run this.
 */
import type { Clock } from '../clock.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ObjectAccess, OpRegistry } from './op.ts';
import { claimItem, releaseLocks, renewLease } from './ownership.ts';
import type { WorkStore } from './ports.ts';
import { OPEN_STATES, seqOfId, type WorkRecord } from './work-item.ts';

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_LEASE_MS = 60_000;

/**
 * Points where a test stops a worker as a crash would (each may never resolve), or watches it.
 * Production passes none.
 */
export interface WorkerHooks {
  afterLocks?(item: WorkRecord, token: number): Promise<void>;
  afterOutput?(item: WorkRecord, token: number): Promise<void>;
  /** Every claim attempt, with its token and whether it owned the item. */
  claimed?(item: WorkRecord, token: number, owned: boolean, why?: string): void;
}

export interface WorkerDeps {
  store: WorkStore;
  ops: OpRegistry;
  /** The vault's objects, as ops see them. */
  objects(vault: string): ObjectAccess;
  clock: Clock;
  log: Logger;
  /** This worker's name, recorded as the owner. */
  owner: string;
  leaseMs: number;
  maxAttempts: number;
  hooks?: WorkerHooks;
  /** How widely this worker spreads its claims; kept between steps (see `Spread`). */
  spread?: Spread;
}

/**
 * Contention control. Workers that list the same open items at once all try the first, and all
 * but one lose a whole claim round (a token and n conditional writes, then the releases). A
 * worker alone takes items strictly in order (a window of 1); each claim it loses to another
 * doubles its window, and it starts at a random item among the first `window` eligible ones;
 * each first-try win halves it again. Under contention, workers spread over the head of the
 * list; alone, the order is the list's.
 */
export interface Spread {
  window: number;
  /** A number in [0, 1): Math.random, or a test's sequence. */
  random(): number;
}

/** The widest a window grows: items are taken at most this far out of order. */
export const MAX_SPREAD = 16;

export function newSpread(random: () => number = Math.random): Spread {
  return { window: 1, random };
}

export type WorkOutcome = 'done' | 'failed' | 'retry' | 'refused';

export interface StepReport {
  /** The item it ran, and how that ended; none when no item could be owned. */
  ran?: { id: string; outcome: WorkOutcome; token: number };
  /** Items it tried but could not own, with why, in the order tried. */
  passed: Array<{ id: string; why: string }>;
}

const PAGE = 100;

/**
 * Tries the open items of `vault` in order, from a start within this worker's window (see
 * `Spread`), and runs the first it owns.
 */
export async function runNext(deps: WorkerDeps, vault: string): Promise<StepReport> {
  const report: StepReport = { passed: [] };
  const doneCache = new Map<string, boolean>();
  const spread = deps.spread ?? newSpread();
  const takeable = async (item: WorkRecord) =>
    !(item.state === 'running' && (item.leaseUntil ?? 0) >= deps.clock.now()) &&
    (await eligible(deps.store, item, doneCache));
  let afterSeq: number | undefined;
  let first = true;
  do {
    const page = await deps.store.list(vault, { states: OPEN_STATES, afterSeq, limit: PAGE });
    const order = tryOrder(page.items, takeable, first ? spread : undefined);
    first = false;
    for await (const item of order) {
      const claim = await claimItem(
        {
          store: deps.store,
          owner: deps.owner,
          leaseMs: deps.leaseMs,
          now: () => deps.clock.now(),
        },
        item,
      );
      deps.hooks?.claimed?.(item, claim.token, claim.owned, claim.owned ? undefined : claim.why);
      if (!claim.owned) {
        report.passed.push({ id: item.id, why: `${claim.why}: ${claim.detail}` });
        if (claim.why === 'contended') spread.window = Math.min(MAX_SPREAD, spread.window * 2);
        continue;
      }
      if (report.passed.length === 0) spread.window = Math.max(1, Math.floor(spread.window / 2));
      // One line per ownership: the fencing tokens an audit checks (no two owners at once).
      deps.log.info('work item owned', { id: item.id, token: claim.token, owner: deps.owner });
      await deps.hooks?.afterLocks?.(item, claim.token);
      const outcome = await execute(deps, item, claim.token, claim.definition.args);
      deps.log.info('work item finished', { id: item.id, token: claim.token, outcome });
      report.ran = { id: item.id, outcome, token: claim.token };
      return report;
    }
    afterSeq = page.cursor;
  } while (afterSeq !== undefined);
  return report;
}

/**
 * The takeable items of a page in the order to try them: with `spread` (the first page), from
 * a start drawn among the first `window` takeable ones, wrapping round to those before it.
 * Each item is judged only when the order comes to it (or to the window's end), so a step that
 * owns one of the first items reads nothing for the `after` items of the rest of the page.
 */
async function* tryOrder(
  items: readonly WorkRecord[],
  takeable: (item: WorkRecord) => Promise<boolean>,
  spread: Spread | undefined,
): AsyncGenerator<WorkRecord> {
  const candidates: WorkRecord[] = [];
  let judged = 0;
  const more = async (): Promise<boolean> => {
    while (judged < items.length) {
      const item = items[judged++] as WorkRecord;
      if (await takeable(item)) {
        candidates.push(item);
        return true;
      }
    }
    return false;
  };
  let start = 0;
  if (spread) {
    while (candidates.length < spread.window && (await more()));
    start = Math.floor(spread.random() * Math.min(spread.window, candidates.length));
  }
  for (let i = start; i < candidates.length || (await more()); i++)
    yield candidates[i] as WorkRecord;
  yield* candidates.slice(0, start);
}

/**
 * Runs items until none can be owned, or until `deadline` (epoch ms) has passed; returns how
 * many it ran.
 */
export async function drainWork(
  deps: WorkerDeps,
  vault: string,
  deadline = Number.POSITIVE_INFINITY,
): Promise<number> {
  let ran = 0;
  while (deps.clock.now() < deadline) {
    const step = await runNext(deps, vault);
    if (!step.ran) break;
    ran++;
  }
  return ran;
}

/** True when every item `item` runs after is done. */
async function eligible(
  store: WorkStore,
  item: WorkRecord,
  cache: Map<string, boolean>,
): Promise<boolean> {
  for (const id of item.after) {
    let done = cache.get(id);
    if (done === undefined) {
      const seq = seqOfId(id);
      done = seq !== undefined && (await store.get(item.vault, seq))?.state === 'done';
      cache.set(id, done);
    }
    if (!done) return false;
  }
  return true;
}

async function execute(
  deps: WorkerDeps,
  item: WorkRecord,
  token: number,
  rawArgs: Record<string, unknown>,
): Promise<WorkOutcome> {
  const { store, clock, log } = deps;
  const attempts = item.attempts + 1;
  // A worker paused since its claim (past its lease) finds a newer owner here, before the op.
  const leaseUntil = clock.now() + deps.leaseMs;
  if (!(await store.update(item.vault, item.seq, { leaseUntil }, { token, states: ['running'] }))) {
    log.warn('work item taken over before its op started', { id: item.id, token });
    return 'refused';
  }
  let running = true;
  const renewer = (async () => {
    const every = Math.max(1, Math.floor(deps.leaseMs / 3));
    let since = 0;
    while (running) {
      // Short naps, so a finished op does not keep the process waiting a whole period.
      const nap = Math.min(every, 1000);
      await clock.sleep(nap);
      since += nap;
      if (!running || since < every) continue;
      since = 0;
      const kept = await renewLease(store, item, token, clock.now() + deps.leaseMs).catch(
        () => true,
      );
      if (!kept) {
        log.warn('work item lease lost; its outcome will be refused', { id: item.id, token });
        return;
      }
    }
  })();
  try {
    let result: unknown;
    try {
      const op = deps.ops.get(item.op);
      const args = deps.ops.parseArgs(item.op, rawArgs);
      result = await op.run(
        { vault: item.vault, id: item.id, objects: deps.objects(item.vault) },
        args,
      );
    } catch (err) {
      const error = describeError(err).message;
      const final = attempts >= deps.maxAttempts;
      log.warn('work item failed', { id: item.id, attempts, final, error });
      const recorded = await store.update(
        item.vault,
        item.seq,
        final
          ? {
              state: 'failed',
              error,
              finishedAt: clock.date().toISOString(),
              owner: undefined,
              leaseUntil: undefined,
            }
          : { state: 'queued', error, owner: undefined, leaseUntil: undefined },
        { token, states: ['running'] },
      );
      if (!recorded) return 'refused';
      if (final) await deleteSlices(store, item, token);
      else await releaseLocks(store, item, token, item.units);
      return final ? 'failed' : 'retry';
    }
    await deps.hooks?.afterOutput?.(item, token);
    const recorded = await store.update(
      item.vault,
      item.seq,
      {
        state: 'done',
        result,
        error: undefined,
        finishedAt: clock.date().toISOString(),
        owner: undefined,
        leaseUntil: undefined,
      },
      { token, states: ['running'] },
    );
    if (!recorded) {
      log.warn('work item outcome refused: a newer owner holds it', { id: item.id, token });
      return 'refused';
    }
    await deleteSlices(store, item, token);
    return 'done';
  } finally {
    running = false;
    void renewer;
  }
}

/** Deletes the slices still locked with `token`; a unit that fails keeps an orphan, no more. */
async function deleteSlices(store: WorkStore, item: WorkRecord, token: number): Promise<void> {
  await Promise.allSettled(
    item.units.map((unit) => store.deleteSlice(item.vault, item.seq, unit, token)),
  );
}

/**
 * A worker: finds the next eligible item of a vault's work list in sequence order, takes it by
 * lock-read-delete (`ownership.ts`), runs its op while renewing the lease, then records the
 * outcome conditional on its fencing token and, once that stood, deletes the function slices.
 * When it cannot own an item it moves on to the next one in order (the seed's "another next
 * function"). A failed attempt backs off; an item after a failed or cancelled one is
 * cancelled with the reason. Lambda workers and `dsn work run` both run this.
 */
import type { Reader } from '../access/index.ts';
import type { Clock } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import type { Logger } from '../log.ts';
import type { ObjectAccess, OpRegistry } from './op.ts';
import { claimItem, releaseLocks, renewLease } from './ownership.ts';
import type { SliceRef, WorkStore } from './ports.ts';
import { OPEN_STATES, seqOfId, type WorkDefinition, type WorkRecord } from './work-item.ts';
import { resultTooLarge } from './work-result.ts';

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_LEASE_MS = 60_000;
/** Attempt N of a failing item waits `backoffMs * 2^(N-1)` (capped) before the next. */
export const DEFAULT_BACKOFF_MS = 1000;
export const MAX_BACKOFF_MS = 15 * 60_000;
/** A drain with a deadline waits out backoffs this short; longer ones are the schedule's. */
const MAX_BACKOFF_WAIT_MS = 30_000;

/**
 * Points where a test stops a worker as a crash would (each may never resolve), or watches it.
 * Production passes none.
 */
export interface WorkerHooks {
  afterLocks?(item: WorkRecord, token: number): Promise<void>;
  afterOutput?(item: WorkRecord, token: number): Promise<void>;
  /** Every lock-read-delete round, with its token and whether it owned the item. */
  claimed?(item: WorkRecord, token: number, owned: boolean, why?: string): void;
  /** Every item passed over without a round: another worker holds it, or it waits. */
  held?(item: WorkRecord): void;
}

export interface WorkerDeps {
  store: WorkStore;
  ops: OpRegistry;
  /** The vault's objects, as ops see them, read as `reader` when given (the scan gate). */
  objects(vault: string, reader?: Reader): ObjectAccess;
  clock: Clock;
  log: Logger;
  /** This worker's name, recorded as the owner. */
  owner: string;
  leaseMs: number;
  maxAttempts: number;
  /** First backoff after a failed attempt (`DEFAULT_BACKOFF_MS`); it doubles per attempt. */
  backoffMs?: number;
  hooks?: WorkerHooks;
  /** This worker's share of the list among racing workers (see `Slot`); alone by default. */
  slot?: Slot;
}

/**
 * Contention control. Workers that list the same open items at once would all try the first.
 * Worker `index` of `count` tries the items whose `seq % count === index` first, in order, and
 * the others' after them: workers that know each other (`dsn work run --workers N`, the
 * benchmark) take disjoint items until the list runs short. The default, `{index: 0, count:
 * 1}`, is strict order; racing workers then meet at the reservation, one cheap conditional
 * write, never at a round of unit locks.
 */
export interface Slot {
  index: number;
  count: number;
}

export type WorkOutcome = 'done' | 'failed' | 'retry' | 'refused';

export interface StepReport {
  /** The item it ran, and how that ended; none when no item could be owned. */
  ran?: { id: string; outcome: WorkOutcome; token: number };
  /** Items it tried but could not own, with why, in the order tried. */
  passed: Array<{ id: string; why: string }>;
  /** When no item was owned: the earliest end of a backoff among the items passed over. */
  waitUntil?: number;
}

const PAGE = 1000;

/**
 * What one worker knows of a vault's open items between its steps: one listing, in the order
 * its slot tries them, consumed as it goes, and the items known done. A drain lists once and
 * again only when the listing runs out, instead of once per item.
 */
export class OpenItems {
  private mine: WorkRecord[] = [];
  private theirs: WorkRecord[] = [];
  /** Items known done: `after` checks need not read them again. */
  readonly done = new Set<string>();
  /** Slices of this worker's finished items, deleted in batches (see `SliceDrops`). */
  readonly drops: SliceDrops;
  private readonly deps: WorkerDeps;
  private readonly vault: string;

  constructor(deps: WorkerDeps, vault: string) {
    this.deps = deps;
    this.vault = vault;
    this.drops = new SliceDrops(deps);
  }

  /** Lists the open items afresh; false when there are none. */
  async refresh(): Promise<boolean> {
    const items: WorkRecord[] = [];
    let afterSeq: number | undefined;
    do {
      const page = await this.deps.store.list(this.vault, {
        states: OPEN_STATES,
        afterSeq,
        limit: PAGE,
      });
      items.push(...page.items);
      afterSeq = page.cursor;
    } while (afterSeq !== undefined && items.length < PAGE);
    const { index, count } = this.deps.slot ?? { index: 0, count: 1 };
    this.mine = items.filter((r) => r.seq % count === index);
    this.theirs = items.filter((r) => r.seq % count !== index);
    return items.length > 0;
  }

  /**
   * The next item to try, or undefined when the listing is used up. Others' items only from
   * a `fresh` listing: one older than this worker's own runs shows as open what other workers
   * have long done.
   */
  next(fresh: boolean): WorkRecord | undefined {
    return this.mine.shift() ?? (fresh ? this.theirs.shift() : undefined);
  }
}

/**
 * Tries the open items of `vault` in its slot's order (listing them once more when `view`'s
 * listing is used up) and runs the first it owns.
 */
export async function runNext(
  deps: WorkerDeps,
  vault: string,
  view?: OpenItems,
): Promise<StepReport> {
  if (view) return step(deps, view);
  // A step on its own deletes its item's slices before it returns.
  const own = new OpenItems(deps, vault);
  try {
    return await step(deps, own);
  } finally {
    await own.drops.flush();
  }
}

async function step(deps: WorkerDeps, view: OpenItems): Promise<StepReport> {
  const report: StepReport = { passed: [] };
  let listed = false;
  for (;;) {
    let item = view.next(listed);
    if (!item) {
      if (listed || !(await view.refresh())) return report;
      listed = true;
      item = view.next(listed) as WorkRecord;
    }
    const now = deps.clock.now();
    // A live lease: another worker owns the item, or is taking it.
    if ((item.leaseUntil ?? 0) >= now) {
      deps.hooks?.held?.(item);
      continue;
    }
    if (item.notBefore !== undefined && item.notBefore > now) {
      report.waitUntil = Math.min(report.waitUntil ?? item.notBefore, item.notBefore);
      deps.hooks?.held?.(item);
      continue;
    }
    const after = await dependencies(deps.store, item, view.done);
    if (after !== 'ready') {
      if (after !== 'waiting') await cancelAfter(deps, item, after, view.drops);
      continue;
    }
    const claim = await claimItem(
      { store: deps.store, owner: deps.owner, leaseMs: deps.leaseMs, now: () => deps.clock.now() },
      item,
    );
    if (!claim.owned) {
      if (claim.why === 'held') deps.hooks?.held?.(item);
      else deps.hooks?.claimed?.(item, claim.token, false, claim.why);
      report.passed.push({ id: item.id, why: `${claim.why}: ${claim.detail}` });
      continue;
    }
    deps.hooks?.claimed?.(item, claim.token, true);
    // One line per ownership: the fencing tokens an audit checks (no two owners at once).
    deps.log.info('work item owned', { id: item.id, token: claim.token, owner: deps.owner });
    await deps.hooks?.afterLocks?.(claim.record, claim.token);
    const outcome = await execute(
      deps,
      claim.record,
      claim.token,
      claim.definition,
      now,
      view.drops,
    );
    if (outcome === 'done') view.done.add(item.id);
    deps.log.info('work item finished', { id: item.id, token: claim.token, outcome });
    report.ran = { id: item.id, outcome, token: claim.token };
    return report;
  }
}

/**
 * Runs items until none can be owned, or until `deadline` (epoch ms) has passed; returns how
 * many it ran. With a deadline, it waits out a backoff that ends before it (up to 30 s).
 */
export async function drainWork(
  deps: WorkerDeps,
  vault: string,
  deadline = Number.POSITIVE_INFINITY,
): Promise<number> {
  let ran = 0;
  const view = new OpenItems(deps, vault);
  try {
    while (deps.clock.now() < deadline) {
      const report = await runNext(deps, vault, view);
      if (report.ran) {
        ran++;
        continue;
      }
      // Nothing to run now: the slices of what ran go before any wait.
      await view.drops.flush();
      const wait = (report.waitUntil ?? Number.POSITIVE_INFINITY) - deps.clock.now();
      if (!Number.isFinite(deadline) || report.waitUntil === undefined) break;
      if (report.waitUntil >= deadline || wait > MAX_BACKOFF_WAIT_MS) break;
      await deps.clock.sleep(Math.max(0, wait));
    }
  } finally {
    await view.drops.flush();
  }
  return ran;
}

/**
 * Whether the items `item` runs after let it run: `ready` when all are done, `waiting` while
 * some are not finished, or the first that ended otherwise (failed, cancelled, or gone).
 */
async function dependencies(
  store: WorkStore,
  item: WorkRecord,
  done: Set<string>,
): Promise<'ready' | 'waiting' | { id: string; state: string }> {
  for (const id of item.after) {
    if (done.has(id)) continue;
    const seq = seqOfId(id);
    const state = seq === undefined ? undefined : (await store.get(item.vault, seq))?.state;
    if (state === 'done') {
      done.add(id);
      continue;
    }
    if (state === 'queued' || state === 'running') return 'waiting';
    return { id, state: state ?? 'missing' };
  }
  return 'ready';
}

/**
 * An item whose dependency failed or was cancelled can never run: it is cancelled, with the
 * reason naming the dependency, and its slices go (they will never be taken).
 */
async function cancelAfter(
  deps: WorkerDeps,
  item: WorkRecord,
  after: { id: string; state: string },
  drops: SliceDrops,
): Promise<void> {
  const reason = `runs after ${after.id}, which ${after.state === 'missing' ? 'does not exist' : `ended ${after.state}`}`;
  const cancelled = await deps.store.update(
    item.vault,
    item.seq,
    { state: 'cancelled', reason, finishedAt: deps.clock.date().toISOString() },
    { states: ['queued'] },
  );
  if (!cancelled) return;
  deps.log.info('work item cancelled', { id: item.id, reason });
  await drops.add(item);
}

async function execute(
  deps: WorkerDeps,
  item: WorkRecord,
  token: number,
  definition: WorkDefinition,
  claimedAt: number,
  drops: SliceDrops,
): Promise<WorkOutcome> {
  const { store, clock, log } = deps;
  /** The item's final write, as its owner (`token`): false when a newer owner holds it. */
  const finish = (outcome: { state: 'done' | 'failed'; result?: unknown; error?: string }) =>
    store.update(
      item.vault,
      item.seq,
      {
        ...outcome,
        finishedAt: clock.date().toISOString(),
        owner: undefined,
        leaseUntil: undefined,
        notBefore: undefined,
      },
      { token, states: ['running'] },
    );
  const attempts = item.attempts;
  // A worker paused since its claim (a third of its lease or more) checks it still owns the
  // item, and renews, before the op; a fresh claim need not spend the write.
  if (clock.now() - claimedAt >= deps.leaseMs / 3) {
    const leaseUntil = clock.now() + deps.leaseMs;
    if (
      !(await store.update(item.vault, item.seq, { leaseUntil }, { token, states: ['running'] }))
    ) {
      log.warn('work item taken over before its op started', { id: item.id, token });
      return 'refused';
    }
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
      const args = deps.ops.parseArgs(item.op, definition.args);
      result = await op.run(
        { vault: item.vault, id: item.id, objects: deps.objects(item.vault, definition.reader) },
        args,
      );
    } catch (err) {
      const error = describeError(err).message;
      const final = attempts >= deps.maxAttempts;
      const backoff = Math.min(
        MAX_BACKOFF_MS,
        (deps.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** Math.max(0, attempts - 1),
      );
      log.warn('work item failed', { id: item.id, attempts, final, error });
      const recorded = final
        ? await finish({ state: 'failed', error })
        : await store.update(
            item.vault,
            item.seq,
            {
              state: 'queued',
              error,
              owner: undefined,
              leaseUntil: undefined,
              notBefore: clock.now() + backoff,
            },
            { token, states: ['running'] },
          );
      if (!recorded) return 'refused';
      if (final) await drops.add(item);
      else await releaseLocks(store, item, token, item.units);
      return final ? 'failed' : 'retry';
    }
    await deps.hooks?.afterOutput?.(item, token);
    const tooLarge = resultTooLarge(result);
    if (tooLarge) {
      // Final: the same op gives the same result again. Without this the record's write would
      // fail past DynamoDB's 400 KB, leaving the item running until its lease ends, and taken
      // again and again.
      log.warn('work item result too large', { id: item.id, error: tooLarge });
      if (!(await finish({ state: 'failed', error: tooLarge }))) return 'refused';
      await drops.add(item);
      return 'failed';
    }
    const recorded = await finish({ state: 'done', result, error: undefined });
    if (!recorded) {
      log.warn('work item outcome refused: a newer owner holds it', { id: item.id, token });
      return 'refused';
    }
    await drops.add(item);
    return 'done';
  } finally {
    running = false;
    void renewer;
  }
}

/** Slice deletes one batch carries (DynamoDB's BatchWriteItem takes 25). */
export const DROP_BATCH = 25;

/**
 * Step 6's delete of the function slices, once an item's record is final (done, failed or
 * cancelled; see `WorkStore.dropSlices`): a worker's finished items' slices go together, in one
 * request per `DROP_BATCH` slices (four items of six units), when the next item would not fit,
 * before the worker waits or stops, and at the end of its drain or step. The record's final,
 * token-conditional write comes first, so a slice waiting here can be taken by nobody
 * (reservations refuse final items) and matters to nobody; a worker that dies before it
 * deletes leaves orphans, which the sweep removes (`sweepSlices`), as it does those of a unit
 * that failed.
 */
export class SliceDrops {
  private pending: SliceRef[] = [];
  private readonly deps: Pick<WorkerDeps, 'store' | 'log'>;

  constructor(deps: Pick<WorkerDeps, 'store' | 'log'>) {
    this.deps = deps;
  }

  /** Queues `item`'s slices, deleting those queued before first when they would not fit. */
  async add(item: WorkRecord): Promise<void> {
    if (this.pending.length + item.units.length > DROP_BATCH) await this.flush();
    this.pending.push(...item.units.map((unit) => ({ vault: item.vault, seq: item.seq, unit })));
  }

  /** Deletes the queued slices; a unit that fails keeps its orphans for the sweep. */
  async flush(): Promise<void> {
    const slices = this.pending;
    if (slices.length === 0) return;
    this.pending = [];
    try {
      await this.deps.store.dropSlices(slices);
    } catch (err) {
      this.deps.log.warn('work item slices left for the sweep', {
        ids: [...new Set(slices.map((r) => `${r.vault}/${r.seq}`))],
        error: describeError(err).message,
      });
    }
  }
}

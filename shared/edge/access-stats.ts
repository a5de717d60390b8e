/**
 * Access statistics: reads counted per (group, object), each read's weight halving every half
 * life, so a score says how much the group reads an object lately. Counting is batched: the
 * reader adds to counts in memory (`AccessCounter`) and writes them out at most every few
 * seconds or every few hundred reads, one update per object counted, never one per GET.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { EdgeStore } from './ports.ts';

/** `score` (as of `at`) decayed to `now`, with `halfLifeMs`; a time before `at` keeps it. */
export function decayed(score: number, at: number, now: number, halfLifeMs: number): number {
  return now <= at ? score : score * 2 ** (-(now - at) / halfLifeMs);
}

/**
 * A score as of `at` after `count` reads at `now`. Either may be the later one (instances'
 * clocks differ): the result is as of the later, each term decayed to it.
 */
export function addReads(
  previous: { score: number; at: number } | undefined,
  count: number,
  now: number,
  halfLifeMs: number,
): { score: number; at: number } {
  if (!previous) return { score: count, at: now };
  const at = Math.max(previous.at, now);
  return {
    score:
      decayed(previous.score, previous.at, at, halfLifeMs) + decayed(count, now, at, halfLifeMs),
    at,
  };
}

/** Counts pending in one instance, by group then `vault/key`. */
export interface PendingCounts {
  group: string;
  vault: string;
  key: string;
  count: number;
}

/**
 * Adds a batch of counts to the scores, one conditional update per object. Counts of a group
 * that is not configured are dropped: a header alone does not create statistics.
 */
export async function writeCounts(
  edge: Pick<EdgeStore, 'getGroup' | 'updateScore'>,
  batch: PendingCounts[],
  at: number,
): Promise<void> {
  for (const [name, counts] of Map.groupBy(batch, (c) => c.group)) {
    const group = await edge.getGroup(name);
    if (!group) continue;
    const halfLifeMs = group.halfLifeSeconds * 1000;
    await Promise.all(
      counts.map((c) =>
        edge.updateScore(name, c.vault, c.key, (prev) => addReads(prev, c.count, at, halfLifeMs)),
      ),
    );
  }
}

export interface AccessCounterOptions {
  edge: Pick<EdgeStore, 'getGroup' | 'updateScore'>;
  clock: Clock;
  log: Logger;
  /** Flush once this long has passed since the first pending read. */
  flushMs: number;
  /** Or once this many reads are pending. */
  flushReads: number;
}

/**
 * The reader's batch of access counts. `record` is synchronous and costs a map update; a flush
 * goes out in the background when due (and a timer catches the tail after the last read). A
 * failed flush is logged and its counts are dropped: statistics steer staging, they are not
 * a ledger.
 */
export class AccessCounter {
  private readonly options: AccessCounterOptions;
  private pending = new Map<string, PendingCounts>();
  private reads = 0;
  private firstAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(options: AccessCounterOptions) {
    this.options = options;
  }

  /** Counts one read of `vault/key` by `group`; flushes when due. */
  record(group: string, vault: string, key: string): void {
    const id = JSON.stringify([group, vault, key]);
    const entry = this.pending.get(id);
    if (entry) entry.count++;
    else this.pending.set(id, { group, vault, key, count: 1 });
    this.reads++;
    const now = this.options.clock.now();
    this.firstAt ??= now;
    if (this.reads >= this.options.flushReads || now - this.firstAt >= this.options.flushMs) {
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.flushMs);
      this.timer.unref?.();
    }
  }

  /** Writes out what is pending (one update per object), after any flush under way. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.reads = 0;
    this.firstAt = undefined;
    if (batch.length === 0) return this.flushing;
    const at = this.options.clock.now();
    this.flushing = this.flushing
      .then(() => writeCounts(this.options.edge, batch, at))
      .catch((err) =>
        this.options.log.error('access counts not written', err, { objects: batch.length }),
      );
    return this.flushing;
  }
}

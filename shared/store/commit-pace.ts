/**
 * How long commits take here, as a writer sees them: from the moment it starts to wait (its
 * last segment out, its count recorded) to its revision's recorded commit. A writer polls the
 * ledger for the outcome; polling every few milliseconds from the start cost an 8 MiB PUT five
 * reads of its revision on the local cloud, where a commit comes some 40-80 ms after the
 * writer's last write. With the pace known, the first look waits for it.
 *
 * Learnt per process (one per sandbox, in the writer's wiring) for each size class (objects of
 * the same bit length): a small write's commit, its slices inline in the message, comes sooner
 * than a large one's, and must not wait at a large one's pace. The pace is the median of the
 * class's last commits, not an average: the first commits of a process wait for cold functions
 * (two seconds on the local cloud), and an average would carry that into the next dozen writes,
 * each waiting at the bound.
 *
 * The first look comes a little after the median commit, when its index entry is usually there
 * too: most writes then pay one read (the entry), and one that is not in yet costs a few 10 ms
 * polls. Looking sooner saves little time and costs reads: at 0.9 of the median the writer's reads
 * per 8 MiB PUT on the local cloud were 3.0, at 1.2 they were 2.2 (11 first looks in 16 found
 * the entry), for the same time per PUT within the machine's noise. However slow commits have
 * been, the first look comes no later than FIRST_LOOK_MAX_MS.
 */

/** The first look, as a share of the pace. */
const FIRST_LOOK_SHARE = 1.2;
/** However slow commits have been, the first look comes no later than this. */
const FIRST_LOOK_MAX_MS = 150;
/** Commits of a class that the pace is the median of. */
const WINDOW = 15;

/** Objects of the same bit length share a pace. */
const classOf = (size: number) => Math.floor(Math.log2(Math.max(1, size)));

export class CommitPace {
  /** Each class's last commit times, oldest first. */
  private readonly recent = new Map<number, number[]>();

  /** How long to wait before the first look for a write of `size` bytes; undefined until one of its class was seen. */
  firstLookMs(size: number): number | undefined {
    const times = this.recent.get(classOf(size));
    const median = times?.toSorted((a, b) => a - b)[times.length >> 1];
    return median === undefined
      ? undefined
      : Math.min(FIRST_LOOK_MAX_MS, Math.round(median * FIRST_LOOK_SHARE));
  }

  /** Records the commit of a write of `size` bytes, `ms` after its writer began to wait. */
  seen(size: number, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const c = classOf(size);
    const times = this.recent.get(c) ?? [];
    times.push(ms);
    if (times.length > WINDOW) times.shift();
    this.recent.set(c, times);
  }
}

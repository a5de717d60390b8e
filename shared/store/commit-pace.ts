/**
 * How long commits take here, as a writer sees them: from the moment it starts to wait (its
 * last segment out, its count recorded) to the commit seen in the ledger. A writer polls the
 * ledger for the outcome; polling every few milliseconds from the start cost an 8 MiB PUT five
 * reads of its revision on the local cloud, where a commit comes some 40-60 ms after the
 * writer's last write. With the pace known, the first look waits for most of it.
 *
 * Learnt per process (one per sandbox, in the writer's wiring), as a moving average for each
 * size class (objects of the same bit length): a small write's commit, its slices inline in the
 * message, comes sooner than a large one's, and must not wait at a large one's pace. A look made
 * too early costs one read more; one made too late costs latency, so the first look comes at a
 * share of the pace, and never later than FIRST_LOOK_MAX_MS.
 */

/** The first look, as a share of the pace: early enough that a commit a little faster than usual is not waited for. */
const FIRST_LOOK_SHARE = 0.7;
/** However slow commits have been, the first look comes no later than this. */
const FIRST_LOOK_MAX_MS = 150;
/** Weight of the latest commit in the average. */
const WEIGHT = 0.2;

/** Objects of the same bit length share a pace. */
const classOf = (size: number) => Math.floor(Math.log2(Math.max(1, size)));

export class CommitPace {
  private readonly averages = new Map<number, number>();

  /** How long to wait before the first look for a write of `size` bytes; `fallbackMs` until one of its class was seen. */
  firstLookMs(size: number, fallbackMs: number): number {
    const average = this.averages.get(classOf(size));
    if (average === undefined) return fallbackMs;
    return Math.min(
      FIRST_LOOK_MAX_MS,
      Math.max(fallbackMs, Math.round(average * FIRST_LOOK_SHARE)),
    );
  }

  /** Records the commit of a write of `size` bytes, seen `ms` after its writer began to wait. */
  seen(size: number, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const c = classOf(size);
    const average = this.averages.get(c);
    this.averages.set(c, average === undefined ? ms : average + (ms - average) * WEIGHT);
  }
}

/**
 * The reader's side of pre-positioning: which group a request reads for, the staged copies it
 * may use, its access count, and the `x-dsn-edge` answer. A read costs one lookup of the
 * object's staging record (a read, never a write) and a map update for the statistics.
 */
import type { Clock } from '../clock.ts';
import type { EdgeSlices, IndexEntry, SliceStore } from '../store/index.ts';
import type { AccessCounter } from './access-stats.ts';
import type { EdgeGroup } from './group.ts';
import type { EdgeStore } from './ports.ts';
import { edgeSlicesOf } from './staged-object.ts';

/** How long an instance trusts its list of groups: a new group is counted within this. */
export const GROUPS_TTL_MS = 5_000;

export interface EdgeReadDeps {
  edge: Pick<EdgeStore, 'listGroups' | 'getStaged'>;
  /** The pool: edge units are read like any unit. */
  slices: Pick<SliceStore, 'get'>;
  counter: AccessCounter;
  clock: Clock;
}

/** The edge side of the reads of one process: its cached groups and its access counter. */
export class EdgeReads {
  private readonly deps: EdgeReadDeps;
  private groups: { at: number; byName: Promise<Map<string, EdgeGroup>> } | undefined;

  constructor(deps: EdgeReadDeps) {
    this.deps = deps;
  }

  private async group(name: string): Promise<EdgeGroup | undefined> {
    const now = this.deps.clock.now();
    if (!this.groups || now - this.groups.at > GROUPS_TTL_MS) {
      const byName = this.deps.edge
        .listGroups()
        .then((list) => new Map(list.map((g) => [g.name, g])));
      // A failed look is not kept.
      byName.catch(() => {
        this.groups = undefined;
      });
      this.groups = { at: now, byName };
    }
    return (await this.groups.byName).get(name);
  }

  /**
   * Counts the read for `group` and returns the group's staged copies of exactly this revision,
   * or undefined (no group, not a configured group, nothing staged, or staged of another
   * revision: a stale copy is never offered). `count: false` for a later call of a read already
   * counted (a client's own read asks once per window of segments).
   */
  async forRead(
    group: string | undefined,
    entry: IndexEntry,
    { count = true }: { count?: boolean } = {},
  ): Promise<EdgeSlices | undefined> {
    if (group === undefined) return undefined;
    // Counted whatever this instance's list of groups says: a group configured in the last
    // GROUPS_TTL_MS is not in it yet, and the flush reads each group afresh (dropping the counts
    // of one that is not configured).
    if (count) this.deps.counter.record(group, entry.vault, entry.key);
    if (!(await this.group(group))) return undefined;
    const staged = await this.deps.edge.getStaged(group, entry.vault, entry.key);
    if (!staged || staged.revision !== entry.revision) return undefined;
    return edgeSlicesOf(staged, this.deps.slices);
  }
}

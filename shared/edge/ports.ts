/**
 * What the edge system speaks to: its table (groups, access scores, staged objects, planner
 * runs) and the queue that asks the planner for a run. `shared/aws/edge/` implements them.
 */
import type { EdgeGroup } from './group.ts';

/** One object's score in one group: `score` as of `at` (epoch ms). */
export interface AccessScore {
  group: string;
  vault: string;
  key: string;
  score: number;
  at: number;
}

/**
 * A staged object: the slices of one revision that a group's edge units hold, as the planner's
 * partial download placed them (staged-object.ts).
 */
export interface StagedObject {
  group: string;
  vault: string;
  key: string;
  /** The revision the slices are of: a read of any other ignores them. */
  revision: string;
  objectId: string;
  /** Per segment, `[pillar, edge unit]` of each slice staged. */
  slices: Array<Array<[number, number]>>;
  /** Slice bytes staged, headers included. */
  bytes: number;
  /** The object's score when it was staged. */
  score: number;
  stagedAt: string;
}

/** What one run did for one group. */
export interface GroupRun {
  group: string;
  targets: number;
  staged: number;
  evicted: number;
  /** Targets left for a later run: over the run's byte rate, or outside the window. */
  deferred: number;
  /**
   * Targets that cannot be staged, with why in the log (k = 1 with several edge units,
   * unreadable, larger than the schedule's bytesPerRun).
   */
  refused: number;
  /** Scores decayed past counting (below the predictor's MIN_SCORE) removed by this run. */
  scoresPruned: number;
  /** Copies on the edge units that no staging record names (a staging cut off), removed. */
  straysRemoved: number;
  /** When the group's edge units were last swept of strays (every STRAY_SWEEP_MS). */
  strayCheckAt?: string;
  bytesUsed: number;
  budgetBytes: number;
  /** Set when staging was held back by the schedule. */
  note?: string;
}

/** One planner run, as `GET /admin/edge/plan` shows the last. */
export interface PlanRun {
  /** The group asked for, or every group. */
  group?: string;
  startedAt: string;
  finishedAt: string;
  groups: GroupRun[];
  /**
   * When each group's edge units were last swept of strays, by this run or an earlier one: a
   * run of one group carries the others' on, so the next run of every group does not take
   * them for never swept (absent in runs before it was kept).
   */
  strayChecks?: Record<string, string>;
}

export interface EdgeStore {
  putGroup(group: EdgeGroup): Promise<void>;
  getGroup(name: string): Promise<EdgeGroup | undefined>;
  listGroups(): Promise<EdgeGroup[]>;
  /**
   * Replaces one object's score by `next(previous)`, conditionally on the previous one, retried
   * when another writer got there first: concurrent flushes add up, none is lost.
   */
  updateScore(
    group: string,
    vault: string,
    key: string,
    next: (previous: { score: number; at: number } | undefined) => { score: number; at: number },
  ): Promise<void>;
  /** Every scored object of the group, as stored (decay them to now before comparing). */
  scores(group: string): Promise<AccessScore[]>;
  /**
   * Removes a score if it is still `stored` (as `scores` gave it): counts a flush added
   * meanwhile stay. @returns whether it was removed.
   */
  deleteScore(stored: AccessScore): Promise<boolean>;
  putStaged(staged: StagedObject): Promise<void>;
  getStaged(group: string, vault: string, key: string): Promise<StagedObject | undefined>;
  listStaged(group: string): Promise<StagedObject[]>;
  /** Removes the record if it still names `revision` (a newer staging stays). */
  deleteStaged(group: string, vault: string, key: string, revision: string): Promise<void>;
  putRun(run: PlanRun): Promise<void>;
  lastRun(): Promise<PlanRun | undefined>;
}

/** Asks the planner for a run now (`POST /admin/edge/plan`). */
export interface PlanRequests {
  request(group: string | undefined, at: Date): Promise<void>;
}

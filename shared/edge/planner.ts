/**
 * The planner: per group, predicts the target content, decides which of it fits the byte
 * budget (best scores first), evicts what no longer makes the cut, and stages the rest as a
 * partial download (staging.ts), within the group's schedule (a byte rate per run and an
 * optional time window). Evictions go first, so the bytes staged never exceed the budget.
 *
 * It runs on a schedule and on request; with leased roles it is the holder of the planner
 * role that runs it (`runPlanner` is the unit of work to wrap).
 */
import { z } from 'zod';
import { EdgeGroupNotFoundError } from '../errors.ts';
import { encodeListingCursor, type IndexEntry } from '../store/index.ts';
import { parseJsonWith } from '../validate.ts';
import { decayed } from './access-stats.ts';
import { groupNameSchema, inWindow } from './group.ts';
import type { AccessScore, GroupRun, PlanRun, StagedObject } from './ports.ts';
import { MIN_SCORE, predictTargets } from './predictor.ts';
import {
  type StagingDeps,
  stagedBytesOf,
  stageObject,
  unstage,
  unstageableReason,
} from './staging.ts';
import { STRAY_SWEEP_MS, sweepStrayCopies } from './stray-copies.ts';

export type PlannerDeps = StagingDeps;

/** A request for a run now, as `POST /admin/edge/plan` queues it. */
const planRequestSchema = z.strictObject({
  group: groupNameSchema.optional(),
  requestedAt: z.string(),
});

/** Parses a queued plan request. @throws InvalidParameterError */
export function parsePlanRequest(body: string): { group?: string; requestedAt: string } {
  return parseJsonWith(planRequestSchema, body);
}

/** Targets whose manifests one run looks at, at most: the budget is filled from the best. */
const MAX_TARGETS = 1000;

/** Scores one run removes at most: a backlog goes over the next runs. */
export const PRUNE_PER_RUN = 1000;

/**
 * Removes the scores decayed below MIN_SCORE by `now` (objects the group stopped reading some
 * ten half lives ago), up to PRUNE_PER_RUN, each only if unchanged since it was read. Without
 * this every object a group ever read kept its score item, and each run read them all.
 * @returns how many went
 */
async function pruneScores(
  deps: PlannerDeps,
  scores: readonly AccessScore[],
  now: number,
  halfLifeMs: number,
): Promise<number> {
  const faded = scores
    .filter((s) => decayed(s.score, s.at, now, halfLifeMs) < MIN_SCORE)
    .slice(0, PRUNE_PER_RUN);
  let pruned = 0;
  for (const s of faded) if (await deps.edge.deleteScore(s)) pruned++;
  return pruned;
}

async function planGroup(
  deps: PlannerDeps,
  name: string,
  /** When the group's edge units were last swept of strays, if ever. */
  lastStrayCheck: string | undefined,
): Promise<GroupRun> {
  const group = await deps.edge.getGroup(name);
  if (!group) throw new EdgeGroupNotFoundError(name);
  const now = deps.clock.now();
  const nextKey = async (vault: string, prefix: string, after: string) => {
    const page = await deps.index.list(vault, prefix, 1, encodeListingCursor(after));
    return page.entries[0]?.key;
  };
  const halfLifeMs = group.halfLifeSeconds * 1000;
  const scores = await deps.edge.scores(name);
  const targets = (await predictTargets(scores, now, halfLifeMs, nextKey)).slice(0, MAX_TARGETS);
  const scoresPruned = await pruneScores(deps, scores, now, halfLifeMs);

  // The cut: best first, each that fits the budget (a large one skipped leaves room for smaller).
  const chosen: Array<{ entry: IndexEntry; score: number; bytes: number }> = [];
  let planned = 0;
  let refused = 0;
  for (const t of targets) {
    const entry = await deps.index.get(t.vault, t.key);
    if (!entry) continue;
    if (unstageableReason(entry, group.edgeUnits.length)) {
      refused++;
      continue;
    }
    const bytes = stagedBytesOf(entry);
    if (planned + bytes > group.budgetBytes) continue;
    chosen.push({ entry, score: t.score, bytes });
    planned += bytes;
  }
  const wanted = new Map(chosen.map((c) => [`${c.entry.vault}\u0000${c.entry.key}`, c]));

  // Evictions first: what fell out of the cut, or is of an old revision, or sits on a unit the
  // group no longer has.
  let evicted = 0;
  const kept: StagedObject[] = [];
  for (const staged of await deps.edge.listStaged(name)) {
    const want = wanted.get(`${staged.vault}\u0000${staged.key}`);
    const onGroupUnits = staged.slices.every((pairs) =>
      pairs.every(([, unit]) => group.edgeUnits.includes(unit)),
    );
    if (want && want.entry.revision === staged.revision && onGroupUnits) kept.push(staged);
    else {
      await unstage(deps, staged);
      evicted++;
    }
  }
  // Copies a staging cut off left with no record, once in a while (a list of every copy).
  const lastCheck = lastStrayCheck ? Date.parse(lastStrayCheck) : undefined;
  const sweep = lastCheck === undefined || now - lastCheck >= STRAY_SWEEP_MS;
  const straysRemoved = sweep ? await sweepStrayCopies(deps, group, kept, now) : 0;
  const strayCheckAt = sweep ? new Date(now).toISOString() : lastStrayCheck;
  let used = kept.reduce((sum, s) => sum + s.bytes, 0);
  const have = new Set(kept.map((s) => `${s.vault}\u0000${s.key}`));

  const open = inWindow(group.schedule, deps.clock.date());
  let staged = 0;
  let deferred = 0;
  let copied = 0;
  for (const c of chosen) {
    if (have.has(`${c.entry.vault}\u0000${c.entry.key}`)) continue;
    // Larger than a whole run may copy: no run will ever stage it. Said as a refusal (the run's
    // report and the log name it), not deferred from run to run as if it were coming.
    if (c.bytes > group.schedule.bytesPerRun) {
      deps.log.warn('object not staged: larger than a run may copy', {
        group: name,
        vault: c.entry.vault,
        key: c.entry.key,
        bytes: c.bytes,
        bytesPerRun: group.schedule.bytesPerRun,
      });
      refused++;
      continue;
    }
    if (
      !open ||
      copied + c.bytes > group.schedule.bytesPerRun ||
      used + c.bytes > group.budgetBytes
    ) {
      deferred++;
      continue;
    }
    const done = await stageObject(deps, group, c.entry, c.score);
    if (!done) {
      refused++;
      continue;
    }
    copied += done.bytes;
    used += done.bytes;
    staged++;
    // Overwritten or deleted while it was copied: its invalidation may have run before the
    // record existed, so look again.
    const now = await deps.index.get(c.entry.vault, c.entry.key);
    if (now?.revision !== done.revision) {
      await unstage(deps, done);
      used -= done.bytes;
      staged--;
      evicted++;
    }
  }
  return {
    group: name,
    targets: targets.length,
    staged,
    evicted,
    deferred,
    refused,
    scoresPruned,
    straysRemoved,
    ...(strayCheckAt === undefined ? {} : { strayCheckAt }),
    bytesUsed: used,
    budgetBytes: group.budgetBytes,
    ...(open
      ? {}
      : {
          note: `outside the window ${group.schedule.window?.from}-${group.schedule.window?.to} UTC`,
        }),
  };
}

/**
 * Runs the planner for `group`, or for every group, and records the run. One group's failure
 * does not stop the others; it is logged and the run records what the rest did.
 * @throws EdgeGroupNotFoundError when `group` is named and not configured.
 */
export async function runPlanner(deps: PlannerDeps, group?: string): Promise<PlanRun> {
  const startedAt = deps.clock.date().toISOString();
  const names = group === undefined ? (await deps.edge.listGroups()).map((g) => g.name) : [group];
  const last = await deps.edge.lastRun();
  // Every group's last sweep, from the last run (a run of one group carries the others').
  const strayChecks: Record<string, string> = { ...last?.strayChecks };
  for (const g of last?.groups ?? []) if (g.strayCheckAt) strayChecks[g.group] = g.strayCheckAt;
  const groups: GroupRun[] = [];
  for (const name of names) {
    try {
      const done = await planGroup(deps, name, strayChecks[name]);
      if (done.strayCheckAt) strayChecks[done.group] = done.strayCheckAt;
      groups.push(done);
    } catch (err) {
      if (group !== undefined) throw err;
      deps.log.error('edge planning failed for a group', err, { group: name });
    }
  }
  const run: PlanRun = {
    ...(group === undefined ? {} : { group }),
    startedAt,
    finishedAt: deps.clock.date().toISOString(),
    groups,
    // A run of every group forgets the groups no longer configured.
    strayChecks:
      group === undefined
        ? Object.fromEntries(Object.entries(strayChecks).filter(([g]) => names.includes(g)))
        : strayChecks,
  };
  await deps.edge.putRun(run);
  return run;
}

/** What the admin routes of pre-positioning do: the groups, one group's state, planner runs. */
import type { Clock } from '../clock.ts';
import { EdgeGroupNotFoundError } from '../errors.ts';
import { decayed } from './access-stats.ts';
import { type EdgeGroup, parseGroup, validateGroupName } from './group.ts';
import type { EdgeStore, PlanRequests } from './ports.ts';

export interface EdgeAdminDeps {
  edge: EdgeStore;
  plans: PlanRequests;
  /** The pool's edge units. */
  edgeUnits: readonly number[];
  clock: Clock;
}

/** `GET /admin/edge`. */
export async function edgeOverview(
  deps: EdgeAdminDeps,
): Promise<{ edgeUnits: number[]; groups: EdgeGroup[] }> {
  return { edgeUnits: [...deps.edgeUnits], groups: await deps.edge.listGroups() };
}

/** `PUT /admin/edge/groups/{group}`. @throws InvalidParameterError (400) */
export async function configureGroup(
  deps: EdgeAdminDeps,
  name: unknown,
  body: unknown,
): Promise<EdgeGroup> {
  const group = parseGroup(name, body, deps.edgeUnits, deps.clock.date());
  await deps.edge.putGroup(group);
  return group;
}

/** Scored objects `GET /admin/edge/groups/{group}` lists, at most. */
const SHOWN_SCORES = 100;

/** `GET /admin/edge/groups/{group}`: the group, its staged objects with scores, bytes used. */
export async function groupState(deps: EdgeAdminDeps, name: unknown) {
  const groupName = validateGroupName(name);
  const group = await deps.edge.getGroup(groupName);
  if (!group) throw new EdgeGroupNotFoundError(groupName);
  const now = deps.clock.now();
  const halfLifeMs = group.halfLifeSeconds * 1000;
  const scores = (await deps.edge.scores(groupName))
    .map((s) => ({ vault: s.vault, key: s.key, score: decayed(s.score, s.at, now, halfLifeMs) }))
    .sort((a, b) => b.score - a.score);
  const scoreOf = new Map(scores.map((s) => [`${s.vault}\u0000${s.key}`, s.score]));
  const staged = (await deps.edge.listStaged(groupName)).map((s) => ({
    vault: s.vault,
    key: s.key,
    revision: s.revision,
    bytes: s.bytes,
    score: scoreOf.get(`${s.vault}\u0000${s.key}`) ?? 0,
    stagedAt: s.stagedAt,
    slices: s.slices.map((pairs) => pairs.map(([pillar, unit]) => ({ pillar, unit }))),
  }));
  return {
    group,
    staged,
    bytesUsed: staged.reduce((sum, s) => sum + s.bytes, 0),
    scores: scores.slice(0, SHOWN_SCORES),
    reads: scores.reduce((sum, s) => sum + s.score, 0),
  };
}

/** `POST /admin/edge/plan`: asks for a run now. @throws InvalidParameterError, EdgeGroupNotFoundError */
export async function requestPlan(
  deps: EdgeAdminDeps,
  body: { group?: string },
): Promise<{ group?: string; requestedAt: string }> {
  if (body.group !== undefined && !(await deps.edge.getGroup(body.group)))
    throw new EdgeGroupNotFoundError(body.group);
  const at = deps.clock.date();
  await deps.plans.request(body.group, at);
  return {
    ...(body.group === undefined ? {} : { group: body.group }),
    requestedAt: at.toISOString(),
  };
}

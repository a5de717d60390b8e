/**
 * Client groups (seed 004's pre-positioning abstract): readers that sit together, the edge
 * units near them, the bytes those units may hold for the group, how fast the group's
 * interest fades (the half life of its access statistics), and the planner's schedule for it.
 */
import { z } from 'zod';
import { InvalidParameterError } from '../errors.ts';
import { integer, parseWith, strictObject } from '../validate.ts';

/** The planner's schedule for a group: a rate limit, and an optional daily window (UTC). */
export interface EdgeSchedule {
  /**
   * Slice bytes one planning run copies at most (the planner runs once a minute); an object
   * whose staged slices are more than this is refused.
   */
  bytesPerRun: number;
  /** Staging happens only between these times of day, UTC (`HH:MM`); evictions any time. */
  window?: { from: string; to: string };
}

export interface EdgeGroup {
  name: string;
  /** Pool indices of the edge units that serve the group. */
  edgeUnits: number[];
  /** Slice bytes staged for the group, across its edge units, never above this. */
  budgetBytes: number;
  /** An access's weight halves every this many seconds. */
  halfLifeSeconds: number;
  schedule: EdgeSchedule;
  updatedAt: string;
}

/** A day. Interest a day old weighs half that of now. */
export const DEFAULT_HALF_LIFE_SECONDS = 86_400;
/** 64 MiB a run: at the planner's once a minute, about 1 MiB/s of copying per group. */
export const DEFAULT_BYTES_PER_RUN = 64 * 1024 * 1024;

const GROUP_RULE = 'must be 1-64 letters, digits, hyphens or underscores';
/** A group name, as in the path and the `x-dsn-client-group` header. */
export const groupNameSchema = z
  .string({ error: GROUP_RULE })
  .regex(/^[A-Za-z0-9_-]{1,64}$/, GROUP_RULE);

const TIME_RULE = 'must be a time of day HH:MM (UTC)';
const timeOfDay = z.string({ error: TIME_RULE }).regex(/^([01]\d|2[0-3]):[0-5]\d$/, TIME_RULE);

/** The body of `PUT /admin/edge/groups/{group}`. */
export const groupRequestSchema = strictObject(
  {
    edgeUnits: z
      .array(integer(0, 255), { error: 'must be a list of edge unit indices' })
      .min(1, 'must name at least one edge unit'),
    budgetBytes: integer(0, Number.MAX_SAFE_INTEGER),
    halfLifeSeconds: integer(1, 365 * 86_400).optional(),
    schedule: strictObject(
      {
        bytesPerRun: integer(1, Number.MAX_SAFE_INTEGER).optional(),
        window: strictObject({ from: timeOfDay, to: timeOfDay }, 'a window field').optional(),
      },
      'a schedule field',
    ).optional(),
  },
  'a group field',
);

/**
 * Checks a group request against the pool's edge units and completes it.
 * @throws InvalidParameterError naming the field: a unit that is not an edge unit, a repeat.
 */
export function parseGroup(
  name: unknown,
  body: unknown,
  poolEdgeUnits: readonly number[],
  now: Date,
): EdgeGroup {
  const group = parseWith(groupNameSchema, name, { name: 'group' });
  const req = parseWith(groupRequestSchema, body);
  req.edgeUnits.forEach((unit, i) => {
    if (!poolEdgeUnits.includes(unit))
      throw new InvalidParameterError(
        `edgeUnits[${i}]`,
        `unit ${unit} is not an edge unit (the pool's edge units: ${poolEdgeUnits.join(', ') || 'none'})`,
      );
  });
  if (new Set(req.edgeUnits).size !== req.edgeUnits.length)
    throw new InvalidParameterError('edgeUnits', 'must not repeat a unit');
  return {
    name: group,
    edgeUnits: req.edgeUnits,
    budgetBytes: req.budgetBytes,
    halfLifeSeconds: req.halfLifeSeconds ?? DEFAULT_HALF_LIFE_SECONDS,
    schedule: {
      bytesPerRun: req.schedule?.bytesPerRun ?? DEFAULT_BYTES_PER_RUN,
      ...(req.schedule?.window ? { window: req.schedule.window } : {}),
    },
    updatedAt: now.toISOString(),
  };
}

/** Checks a group name (path or header). @throws InvalidParameterError naming `field`. */
export function validateGroupName(name: unknown, field = 'group'): string {
  return parseWith(groupNameSchema, name, { name: field });
}

/** Whether `at` falls in the schedule's window (always, without one); a window may wrap midnight. */
export function inWindow(schedule: EdgeSchedule, at: Date): boolean {
  if (!schedule.window) return true;
  const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const now = at.getUTCHours() * 60 + at.getUTCMinutes();
  const from = minutes(schedule.window.from);
  const to = minutes(schedule.window.to);
  return from <= to ? now >= from && now < to : now >= from || now < to;
}

/**
 * Slice damage: what a read met on one pillar of one segment (a slice missing, bad bytes, or a
 * unit that erred), recorded in the repair log for the rebuilder. The record travels through a
 * queue, so the rebuilder parses it with the schema rather than trusting the body.
 */
import { z } from 'zod';
import { integer, nonEmptyString, parseJsonWith, strictObject } from '../validate.ts';

/**
 * Damage records one report takes at most (a read of one window meets at most its slices). Here,
 * not in retrieval.ts, so a client reporting damage (the downlink, in a browser too) imports no
 * server code.
 */
export const MAX_DAMAGE_PER_REPORT = 64;

/** `missing`: no object; `corrupt`/`truncated`/`foreign`/`version`: bad bytes; `unreadable`: the unit errs. */
export const DAMAGE_DEFECTS = [
  'missing',
  'corrupt',
  'truncated',
  'foreign',
  'version',
  'unreadable',
] as const;
export type DamageDefect = (typeof DAMAGE_DEFECTS)[number];

export interface SliceDamage {
  vault: string;
  key: string;
  revision: string;
  segment: number;
  pillar: number;
  unit: number;
  defect: DamageDefect;
  /** What the read saw, for a person: the error's name and message. */
  detail: string;
  /** When the read met it (ISO 8601). */
  at: string;
}

export const sliceDamageSchema: z.ZodType<SliceDamage> = strictObject(
  {
    vault: nonEmptyString(),
    // Keys are checked where they are written; here only that there is one.
    key: nonEmptyString(),
    revision: nonEmptyString(),
    segment: integer(0, 9_999_999_999),
    pillar: integer(0, 255),
    unit: integer(0, 255),
    defect: z.enum(DAMAGE_DEFECTS, { error: `must be one of ${DAMAGE_DEFECTS.join(', ')}` }),
    detail: z.string(),
    at: z.iso.datetime({ error: 'must be an ISO 8601 time (UTC)' }),
  },
  'a slice damage field',
);

/** Parses and checks a repair log record. @throws InvalidParameterError naming the field. */
export function parseSliceDamage(body: string): SliceDamage {
  return parseJsonWith(sliceDamageSchema, body, { name: 'damage' });
}

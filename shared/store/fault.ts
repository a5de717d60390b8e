/**
 * Fault injection for storage units, on the local cloud only (infra/local/unit-faults.ts): a
 * unit whose writes fail, whose reads fail, that answers slowly, or that returns corrupted
 * bytes. The reliability tests use it instead of mocks: the real functions run against a real
 * (emulated) bucket that misbehaves.
 */
import { z } from 'zod';
import { integer, parseWith, strictObject } from '../validate.ts';
import { objectKeySchema } from './object-key.ts';
import { vaultNameSchema } from './vault.ts';

export const FAULT_MODES = ['write-fail', 'read-fail', 'slow', 'corrupt'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface UnitFault {
  unit: number;
  mode: FaultMode;
  /** For `slow`: added latency per operation. */
  delayMs?: number;
}

const MODE_RULE = `must be one of ${FAULT_MODES.join(', ')}`;

/** The body of `PUT /admin/units/{unit}/fault`: a mode, and a delay for `slow` (only then). */
export const faultRequestSchema = strictObject(
  {
    mode: z.enum(FAULT_MODES, { error: MODE_RULE }),
    delayMs: integer(1, 60_000, 'must be an integer 1..60000 for mode slow').optional(),
  },
  'a fault field',
).superRefine((req, ctx) => {
  if (req.mode === 'slow' && req.delayMs === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['delayMs'],
      message: 'must be an integer 1..60000 for mode slow',
    });
  if (req.mode !== 'slow' && req.delayMs !== undefined)
    ctx.addIssue({ code: 'custom', path: ['delayMs'], message: 'is only for mode slow' });
});

/** Checks a fault request body (none: no mode). @throws InvalidParameterError naming the field. */
export function parseFault(unit: number, body: unknown): UnitFault {
  const { mode, delayMs } = parseWith(faultRequestSchema, body ?? {});
  return delayMs === undefined ? { unit, mode } : { unit, mode, delayMs };
}

/**
 * A request to rot slices on disk: how many, optionally only one vault's or one object's (by
 * key, any of its revisions still on disk), optionally seeded.
 */
export interface ChaosRequest {
  slices: number;
  vault?: string;
  key?: string;
  /** Same seed and same slices on disk: same choice of slices and offsets. */
  seed?: number;
}

export const MAX_CHAOS_SLICES = 10_000;

/** The body of `POST /admin/chaos`. */
export const chaosRequestSchema: z.ZodType<ChaosRequest> = strictObject(
  {
    slices: integer(1, MAX_CHAOS_SLICES, `must be an integer 1..${MAX_CHAOS_SLICES}`),
    vault: vaultNameSchema.optional(),
    key: objectKeySchema.optional(),
    seed: integer(0, 0xffffffff, 'must be an integer 0..4294967295').optional(),
  },
  'a chaos field',
);

/** Checks a chaos request body. @throws InvalidParameterError naming the field. */
export function parseChaos(body: unknown): ChaosRequest {
  return parseWith(chaosRequestSchema, body);
}

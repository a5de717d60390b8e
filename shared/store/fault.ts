/**
 * Fault injection for storage units, on the local cloud only (infra/local/unit-faults.ts): a
 * unit whose writes fail, whose reads fail, that answers slowly, or that returns corrupted
 * bytes. The reliability tests use it instead of mocks: the real functions run against a real
 * (emulated) bucket that misbehaves.
 */
import { InvalidParameterError } from '../errors.ts';
import { validateVaultName } from './vault.ts';

export const FAULT_MODES = ['write-fail', 'read-fail', 'slow', 'corrupt'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface UnitFault {
  unit: number;
  mode: FaultMode;
  /** For `slow`: added latency per operation. */
  delayMs?: number;
}

/** Checks a fault request body. @throws InvalidParameterError naming the field. */
export function parseFault(unit: number, body: unknown): UnitFault {
  const b = (body ?? {}) as Record<string, unknown>;
  if (!FAULT_MODES.includes(b.mode as FaultMode)) {
    throw new InvalidParameterError('mode', `must be one of ${FAULT_MODES.join(', ')}`);
  }
  const fault: UnitFault = { unit, mode: b.mode as FaultMode };
  if (fault.mode === 'slow') {
    const d = b.delayMs;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 60_000) {
      throw new InvalidParameterError('delayMs', 'must be an integer 1..60000 for mode slow');
    }
    fault.delayMs = d;
  }
  return fault;
}

/** A request to rot slices on disk: how many, optionally only one vault's, optionally seeded. */
export interface ChaosRequest {
  slices: number;
  vault?: string;
  /** Same seed and same slices on disk: same choice of slices and offsets. */
  seed?: number;
}

export const MAX_CHAOS_SLICES = 10_000;
const CHAOS_FIELDS = new Set(['slices', 'vault', 'seed']);

/** Checks a chaos request body. @throws InvalidParameterError naming the field. */
export function parseChaos(body: unknown): ChaosRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidParameterError('body', 'must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  for (const field of Object.keys(b)) {
    if (!CHAOS_FIELDS.has(field)) {
      throw new InvalidParameterError(
        field,
        `is not a chaos field (known: ${[...CHAOS_FIELDS].join(', ')})`,
      );
    }
  }
  const { slices, vault, seed } = b;
  if (
    typeof slices !== 'number' ||
    !Number.isInteger(slices) ||
    slices < 1 ||
    slices > MAX_CHAOS_SLICES
  ) {
    throw new InvalidParameterError(
      'slices',
      `must be an integer 1..${MAX_CHAOS_SLICES}, got ${JSON.stringify(slices)}`,
    );
  }
  const request: ChaosRequest = { slices };
  if (vault !== undefined) request.vault = validateVaultName(vault, 'vault');
  if (seed !== undefined) {
    if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new InvalidParameterError(
        'seed',
        `must be an integer 0..4294967295, got ${JSON.stringify(seed)}`,
      );
    }
    request.seed = seed;
  }
  return request;
}

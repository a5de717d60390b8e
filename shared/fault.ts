/**
 * Fault injection for storage units, on the local cloud only (infra/local/unit-faults.ts): a
 * unit whose writes fail, whose reads fail, that answers slowly, or that returns corrupted
 * bytes. The reliability tests use it instead of mocks: the real functions run against a real
 * (emulated) bucket that misbehaves.
 */
import { InvalidParameterError } from './errors.ts';

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

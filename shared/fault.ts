/**
 * Fault injection for storage units, on the local cloud only: a unit whose writes fail, whose
 * reads fail, that answers slowly, or that returns corrupted bytes. The reliability tests use
 * it instead of mocks: the real functions run against a real (emulated) bucket that misbehaves.
 */
import { InvalidParameterError, UnitFaultError } from './errors.ts';
import type { SliceStore, StoredSlice } from './ports.ts';

export const FAULT_MODES = ['write-fail', 'read-fail', 'slow', 'corrupt'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface UnitFault {
  unit: number;
  mode: FaultMode;
  /** For `slow`: added latency per operation. */
  delayMs?: number;
}

export interface FaultStore {
  list(): Promise<UnitFault[]>;
  set(fault: UnitFault): Promise<void>;
  clear(unit: number): Promise<void>;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A SliceStore that misbehaves as the given faults say, per unit. */
export class FaultySliceStore implements SliceStore {
  private readonly inner: SliceStore;
  private readonly faults: Map<number, UnitFault>;

  constructor(inner: SliceStore, faults: UnitFault[]) {
    this.inner = inner;
    this.faults = new Map(faults.map((f) => [f.unit, f]));
  }

  private async before(unit: number, op: 'write' | 'read'): Promise<UnitFault | undefined> {
    const fault = this.faults.get(unit);
    if (!fault) return undefined;
    if (fault.mode === 'slow') await sleep(fault.delayMs ?? 0);
    if (
      (fault.mode === 'write-fail' && op === 'write') ||
      (fault.mode === 'read-fail' && op === 'read')
    ) {
      throw new UnitFaultError(unit, fault.mode);
    }
    return fault;
  }

  async put(unit: number, key: string, body: Uint8Array, crc32: string): Promise<void> {
    await this.before(unit, 'write');
    await this.inner.put(unit, key, body, crc32);
  }

  async get(unit: number, key: string, signal?: AbortSignal): Promise<Uint8Array> {
    const fault = await this.before(unit, 'read');
    const bytes = await this.inner.get(unit, key, signal);
    if (fault?.mode === 'corrupt' && bytes.length > 0) {
      const copy = Uint8Array.from(bytes);
      copy[copy.length - 1] = (copy[copy.length - 1] as number) ^ 0xff;
      return copy;
    }
    return bytes;
  }

  async head(unit: number, key: string) {
    await this.before(unit, 'read');
    return this.inner.head(unit, key);
  }

  async *list(unit: number, prefix: string): AsyncIterable<StoredSlice> {
    await this.before(unit, 'read');
    yield* this.inner.list(unit, prefix);
  }

  async delete(unit: number, keys: string[]): Promise<void> {
    await this.before(unit, 'write');
    await this.inner.delete(unit, keys);
  }
}

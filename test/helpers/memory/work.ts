/**
 * The work system's port in memory, as DynamoWorkStore keeps it: a catalog record and a counter
 * per vault, a function slice with its lock per (unit, item), every change one conditional
 * write. Each call yields to the event loop first, so racing workers interleave as they would
 * on a network; `failing` units throw, as a unit that is down would.
 */
import {
  beforeReservation,
  type FunctionSliceState,
  holdsChange,
  holdsLock,
  holdsReservation,
  type RecordChange,
  type RecordCondition,
  type Reservation,
  type SliceLock,
  type SliceRef,
  type WorkRecord,
  type WorkState,
  type WorkStore,
} from '../../../shared/work/index.ts';
import { seededRandom } from '../seeded.ts';
import { document } from './documents.ts';

interface StoredSlice {
  slice: Uint8Array;
  owner?: string;
  token?: number;
  leaseUntil?: number;
  storedAt?: number;
}

/** What a unit that is down answers. */
export class UnitDownError extends Error {
  override name = 'UnitDownError';
}

export class MemoryWorkStore implements WorkStore {
  private readonly seqs = new Map<string, number>();
  private readonly records = new Map<string, WorkRecord>();
  private readonly slices = new Map<string, StoredSlice>();
  /** Units whose every call fails. */
  readonly failing = new Set<number>();
  /** Lock requests answered, favorable or not (the benchmark's attempts per item). */
  lockRequests = 0;
  private readonly jitter?: () => number;

  /**
   * With `jitterSeed`, each call waits 1-4 event-loop turns instead of one, so the requests of
   * racing workers reach the units in mixed orders, as on a network.
   */
  constructor(options: { jitterSeed?: number } = {}) {
    if (options.jitterSeed !== undefined) this.jitter = seededRandom(options.jitterSeed);
  }

  private async tick(): Promise<void> {
    const turns = this.jitter ? 1 + Math.floor(this.jitter() * 4) : 1;
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private static key(vault: string, seq: number) {
    return `${vault}/${seq}`;
  }

  private async unit(unit: number): Promise<void> {
    await this.tick();
    if (this.failing.has(unit)) throw new UnitDownError(`unit ${unit} is down`);
  }

  async nextSeq(vault: string): Promise<number> {
    await this.tick();
    const next = (this.seqs.get(vault) ?? 0) + 1;
    this.seqs.set(vault, next);
    return next;
  }

  async create(record: WorkRecord): Promise<void> {
    await this.tick();
    const key = MemoryWorkStore.key(record.vault, record.seq);
    if (!this.records.has(key)) this.records.set(key, document(record));
  }

  async get(vault: string, seq: number): Promise<WorkRecord | undefined> {
    await this.tick();
    const record = this.records.get(MemoryWorkStore.key(vault, seq));
    return record && document(record);
  }

  async list(
    vault: string,
    opts: { states?: readonly WorkState[]; afterSeq?: number; limit: number },
  ): Promise<{ items: WorkRecord[]; cursor?: number }> {
    await this.tick();
    const all = [...this.records.values()]
      .filter((r) => r.vault === vault && r.seq > (opts.afterSeq ?? 0))
      .sort((a, b) => a.seq - b.seq);
    const items: WorkRecord[] = [];
    for (const [i, r] of all.entries()) {
      if (opts.states && !opts.states.includes(r.state)) continue;
      items.push(document(r));
      if (items.length === opts.limit)
        return i < all.length - 1 ? { items, cursor: r.seq } : { items };
    }
    return { items };
  }

  async reserve(
    vault: string,
    seq: number,
    reservation: Reservation,
    now: number,
  ): Promise<WorkRecord | undefined> {
    await this.tick();
    const key = MemoryWorkStore.key(vault, seq);
    const record = this.records.get(key);
    if (!record) return undefined;
    const takeable =
      ['queued', 'running'].includes(record.state) &&
      !(record.leaseUntil !== undefined && record.leaseUntil >= now) &&
      !(record.notBefore !== undefined && record.notBefore > now);
    // Refused, maybe by this very reservation (a repeat whose first answer was lost).
    if (!takeable)
      return holdsReservation(record, reservation)
        ? document(beforeReservation(record))
        : undefined;
    const { reason: _reason, ...rest } = record;
    this.records.set(key, {
      ...rest,
      ...reservation,
      state: 'running',
      token: record.token + 1,
      attempts: record.attempts + 1,
    });
    return document(record);
  }

  async update(
    vault: string,
    seq: number,
    change: RecordChange,
    when: RecordCondition,
  ): Promise<boolean> {
    await this.tick();
    const record = this.records.get(MemoryWorkStore.key(vault, seq));
    if (!record) return false;
    const refused =
      (when.states && !when.states.includes(record.state)) ||
      (when.token !== undefined && record.token !== when.token);
    // A refusal by this very change (a repeat whose first answer was lost) counts as made.
    if (refused) return holdsChange(record, change, when);
    const next: Record<string, unknown> = { ...record };
    for (const [field, value] of Object.entries(change)) {
      if (value === undefined) delete next[field];
      else next[field] = document(value);
    }
    this.records.set(MemoryWorkStore.key(vault, seq), next as unknown as WorkRecord);
    return true;
  }

  private sliceKey(vault: string, seq: number, unit: number) {
    return `${unit}/${vault}/${seq}`;
  }

  async putSlice(
    vault: string,
    seq: number,
    unit: number,
    slice: Uint8Array,
    storedAt?: number,
  ): Promise<void> {
    await this.unit(unit);
    const key = this.sliceKey(vault, seq, unit);
    if (!this.slices.has(key))
      this.slices.set(key, {
        slice: Uint8Array.from(slice),
        ...(storedAt === undefined ? {} : { storedAt }),
      });
  }

  async lockSlice(
    vault: string,
    seq: number,
    unit: number,
    lock: SliceLock,
    now: number,
  ): Promise<Uint8Array | undefined> {
    await this.unit(unit);
    this.lockRequests++;
    const stored = this.slices.get(this.sliceKey(vault, seq, unit));
    if (!stored) return undefined;
    const free = stored.owner === undefined || (stored.leaseUntil ?? 0) < now;
    const newer = stored.token === undefined || stored.token < lock.token;
    // Refused, maybe by this very lock (a repeat whose first answer was lost): then its slice.
    if (!free || !newer) return holdsLock(stored, lock) ? Uint8Array.from(stored.slice) : undefined;
    Object.assign(stored, lock);
    return Uint8Array.from(stored.slice);
  }

  async renewSlice(
    vault: string,
    seq: number,
    unit: number,
    token: number,
    leaseUntil: number,
  ): Promise<boolean> {
    await this.unit(unit);
    const stored = this.slices.get(this.sliceKey(vault, seq, unit));
    if (!stored || stored.token !== token || stored.owner === undefined) return false;
    stored.leaseUntil = leaseUntil;
    return true;
  }

  async releaseSlice(vault: string, seq: number, unit: number, token: number): Promise<boolean> {
    await this.unit(unit);
    const stored = this.slices.get(this.sliceKey(vault, seq, unit));
    if (!stored || stored.token !== token) return false;
    stored.owner = undefined;
    stored.leaseUntil = undefined;
    return true;
  }

  async dropSlices(slices: readonly SliceRef[]): Promise<void> {
    let failure: unknown;
    for (const r of slices) {
      try {
        await this.unit(r.unit);
        this.slices.delete(this.sliceKey(r.vault, r.seq, r.unit));
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure) throw failure;
  }

  async listSlices(
    vault: string,
    unit: number,
    opts: { afterSeq?: number; limit: number },
  ): Promise<{ seqs: number[]; cursor?: number }> {
    await this.unit(unit);
    const prefix = `${unit}/${vault}/`;
    const all = [...this.slices.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => Number(k.slice(prefix.length)))
      .filter((seq) => seq > (opts.afterSeq ?? 0))
      .sort((a, b) => a - b);
    const seqs = all.slice(0, opts.limit);
    return all.length > opts.limit ? { seqs, cursor: seqs.at(-1) } : { seqs };
  }

  async sliceState(vault: string, seq: number, unit: number): Promise<FunctionSliceState> {
    await this.unit(unit);
    const stored = this.slices.get(this.sliceKey(vault, seq, unit));
    if (!stored) return { unit, present: false, locked: false };
    return {
      unit,
      present: true,
      locked: stored.owner !== undefined,
      ...(stored.owner !== undefined ? { owner: stored.owner } : {}),
      ...(stored.token !== undefined ? { token: stored.token } : {}),
      ...(stored.leaseUntil !== undefined ? { leaseUntil: stored.leaseUntil } : {}),
      ...(stored.storedAt !== undefined ? { storedAt: stored.storedAt } : {}),
    };
  }
}

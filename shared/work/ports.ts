/**
 * The work system's port: the vault's work list (a catalog of items and the sequence counter)
 * and, per storage unit, the function slices with their lock state. `shared/aws/work/`
 * implements it on one DynamoDB table partitioned by unit.
 *
 * Every per-unit call may fail on its own (a unit that is down): the protocol counts a failed
 * unit as an unfavorable answer, never as a reason to stop.
 */
import type { WorkRecord, WorkState } from './work-item.ts';

/** A lock on one function slice. */
export interface SliceLock {
  owner: string;
  token: number;
  /** Epoch ms. */
  leaseUntil: number;
}

/** What one unit holds of an item, for `?explain`. */
export interface FunctionSliceState {
  unit: number;
  present: boolean;
  locked: boolean;
  owner?: string;
  token?: number;
  leaseUntil?: number;
}

/** Conditions of a catalog update; all given ones must hold. */
export interface RecordCondition {
  states?: readonly WorkState[];
  /** The record's token is exactly this (the caller still owns the item). */
  token?: number;
  /** The record's token is below this (a newer owner than any before). */
  tokenBelow?: number;
}

/** Fields a catalog update sets; `undefined` removes the field. */
export type RecordChange = Partial<
  Pick<
    WorkRecord,
    | 'state'
    | 'attempts'
    | 'token'
    | 'owner'
    | 'leaseUntil'
    | 'result'
    | 'error'
    | 'reason'
    | 'startedAt'
    | 'finishedAt'
  >
>;

export interface WorkStore {
  /** The vault's next sequence number (1, 2, ...): one conditional counter, never reused. */
  nextSeq(vault: string): Promise<number>;
  /** Stores a new catalog record; idempotent for the same record. */
  create(record: WorkRecord): Promise<void>;
  get(vault: string, seq: number): Promise<WorkRecord | undefined>;
  /**
   * Up to `limit` records in `seq` order after `afterSeq`, of `states` only when given. A page
   * may come back short with a cursor (the last seq read); the cursor is there when more may
   * follow.
   */
  list(
    vault: string,
    opts: { states?: readonly WorkState[]; afterSeq?: number; limit: number },
  ): Promise<{ items: WorkRecord[]; cursor?: number }>;
  /** A fencing token for the item greater than every one issued for it before. */
  newToken(vault: string, seq: number): Promise<number>;
  /** Applies `change` when `when` holds; false when it does not (or the record is gone). */
  update(vault: string, seq: number, change: RecordChange, when: RecordCondition): Promise<boolean>;

  /** Stores unit `unit`'s function slice of the item; create only (a redo writes nothing). */
  putSlice(vault: string, seq: number, unit: number, slice: Uint8Array): Promise<void>;
  /**
   * Lock-read-delete: ONE conditional write that locks the slice for `lock` if it is present,
   * unlocked or its lease ended before `now`, and never locked with a token as high, and
   * returns the slice in the same answer. Undefined when the unit refuses.
   */
  lockSlice(
    vault: string,
    seq: number,
    unit: number,
    lock: SliceLock,
    now: number,
  ): Promise<Uint8Array | undefined>;
  /** Moves the lease on while the slice is locked with `token`. */
  renewSlice(
    vault: string,
    seq: number,
    unit: number,
    token: number,
    leaseUntil: number,
  ): Promise<boolean>;
  /** Unlocks the slice if it is locked with `token`. */
  releaseSlice(vault: string, seq: number, unit: number, token: number): Promise<boolean>;
  /** Deletes the slice if it is locked with `token`. */
  deleteSlice(vault: string, seq: number, unit: number, token: number): Promise<boolean>;
  sliceState(vault: string, seq: number, unit: number): Promise<FunctionSliceState>;
}

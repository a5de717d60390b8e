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
  /** When the add stored it (epoch ms); absent for slices stored before it was recorded. */
  storedAt?: number;
}

/** Conditions of a catalog update; all given ones must hold. */
export interface RecordCondition {
  states?: readonly WorkState[];
  /** The record's token is exactly this (the caller still owns the item). */
  token?: number;
}

/** A reservation of an item by a worker about to try its lock-read-delete. */
export interface Reservation {
  owner: string;
  /** Epoch ms: until then no other worker is given a token for the item. */
  leaseUntil: number;
  /** ISO time the attempt starts. */
  startedAt: string;
}

/** One function slice, by item and unit. */
export interface SliceRef {
  vault: string;
  seq: number;
  unit: number;
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
    | 'notBefore'
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
  /**
   * One conditional write on the record: when the item is open (queued or running), nobody holds
   * it (no lease, or its lease ended before `now`) and its backoff is over (`notBefore`), it
   * starts an attempt: the state becomes `running`, the fencing token and `attempts` rise by
   * one, `reservation` gives the owner, lease and start, and the waiting reason goes. Answers
   * the record as it was before, so a refused attempt can be undone: the new token is its
   * `token + 1`, greater than every one issued for the item before. Undefined when the item is
   * held, waiting, finished or gone. A reservation is not ownership: that still takes the
   * units' lock-read-delete answers. It keeps racing workers from spending a round of unit
   * locks on an item another is taking. The same reservation sent again (its first answer
   * lost) answers as granted, with the record rebuilt as `beforeReservation` gives it.
   */
  reserve(
    vault: string,
    seq: number,
    reservation: Reservation,
    now: number,
  ): Promise<WorkRecord | undefined>;
  /**
   * Applies `change` when `when` holds; false when it does not (or the record is gone), unless
   * the record already holds the change under `when`'s token (`holdsChange`: the same update
   * sent again after its first answer was lost).
   */
  update(vault: string, seq: number, change: RecordChange, when: RecordCondition): Promise<boolean>;

  /**
   * Stores unit `unit`'s function slice of the item, noting `storedAt` (epoch ms) beside it;
   * create only (a redo writes nothing).
   */
  putSlice(
    vault: string,
    seq: number,
    unit: number,
    slice: Uint8Array,
    storedAt?: number,
  ): Promise<void>;
  /**
   * Lock-read-delete: ONE conditional write that locks the slice for `lock` if it is present,
   * unlocked or its lease ended before `now`, and never locked with a token as high, and
   * returns the slice in the same answer. Undefined when the unit refuses, except to the same
   * lock sent again (its first answer lost), which gets the slice again.
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
  /**
   * Deletes `slices` whatever their locks, in as few requests as the store allows (slices of
   * several units in one). Only for items whose record is final (done, failed or cancelled):
   * the record's conditional write already fenced stale owners off, and no worker can own a
   * final item, so no lock on these slices can matter any more; or for items that will never
   * have a record (an add refused or cut off), which no worker can take. Deleting a missing slice is no
   * error; a unit that fails keeps its slices (the sweep finds them later).
   * @throws the first unit's error when some slices could not be deleted
   */
  dropSlices(slices: readonly SliceRef[]): Promise<void>;
  /**
   * Up to `limit` item seqs of `vault` that have a function slice at `unit`, in seq order after
   * `afterSeq`, with a cursor when more may follow (the sweep of orphan slices).
   */
  listSlices(
    vault: string,
    unit: number,
    opts: { afterSeq?: number; limit: number },
  ): Promise<{ seqs: number[]; cursor?: number }>;
  sliceState(vault: string, seq: number, unit: number): Promise<FunctionSliceState>;
}

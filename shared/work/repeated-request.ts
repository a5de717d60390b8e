/**
 * A conditional write repeated after its answer was lost. The SDK sends a request again when
 * its answer does not come (a timeout, a reset connection); when the first one had applied,
 * the repeat is refused by the very change it repeats: a reservation by its own lease, a slice
 * lock by its own token, an outcome by its own state. Taken for a refusal, it left the item
 * held by a phantom owner, and its slices locked, until the lease ended (60 s), and counted
 * an attempt nobody made. So each store reads its item back when such a write is refused,
 * and these say whether what it finds is the write itself. Each compares what only that
 * write puts there: the owner with its lease and start time, the owner with its token, the
 * change's every field under the caller's token. That holds because an owner (a worker: one
 * per Lambda sandbox, one per `dsn work run` slot) takes one item at a time. A change made
 * without a token (a cancel) matches any equal change to the millisecond of its `finishedAt`:
 * two cancels of one item then both succeed, which is what either asked.
 */
import { isDeepStrictEqual } from 'node:util';
import type { RecordChange, RecordCondition, Reservation, SliceLock } from './ports.ts';
import type { WorkRecord } from './work-item.ts';

/** The record is held by `reservation` itself (its owner, lease and start, running). */
export function holdsReservation(record: WorkRecord, reservation: Reservation): boolean {
  return (
    record.state === 'running' &&
    record.owner === reservation.owner &&
    record.leaseUntil === reservation.leaseUntil &&
    record.startedAt === reservation.startedAt
  );
}

/**
 * What a reservation found, rebuilt from the record it made: the token and attempts one lower,
 * nobody holding it. The rest of what it replaced (a running state with its start, a waiting
 * reason) is not kept anywhere, so the rebuilt record reads as queued and not started: should
 * the attempt be undone, the item waits as queued, which is what it then is.
 */
export function beforeReservation(record: WorkRecord): WorkRecord {
  const {
    owner: _owner,
    leaseUntil: _lease,
    startedAt: _started,
    reason: _reason,
    ...rest
  } = record;
  return { ...rest, state: 'queued', token: record.token - 1, attempts: record.attempts - 1 };
}

/** The slice is locked by `lock` itself: its owner, token and lease. */
export function holdsLock(
  slice: { owner?: string; token?: number; leaseUntil?: number },
  lock: SliceLock,
): boolean {
  return (
    slice.owner === lock.owner && slice.token === lock.token && slice.leaseUntil === lock.leaseUntil
  );
}

/**
 * The record already holds `change` (each field set to its value, each `undefined` one
 * absent), under the token `when` names: the change is in place, and nobody newer took the
 * item. Its state condition is not asked again, since the change may itself have moved the
 * state on (running to done).
 */
export function holdsChange(
  record: WorkRecord,
  change: RecordChange,
  when: RecordCondition,
): boolean {
  if (when.token !== undefined && record.token !== when.token) return false;
  const fields = record as unknown as Record<string, unknown>;
  return Object.entries(change).every(([field, value]) =>
    value === undefined ? fields[field] === undefined : isDeepStrictEqual(fields[field], value),
  );
}

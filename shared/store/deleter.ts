/**
 * Deleting a key: the index entry gives way to a tombstone (so a late commit of an older
 * revision cannot bring the key back), the removed revision is retired for the janitor after a
 * grace period for readers still streaming it, and subscribers hear `object.deleted`.
 */
import type { Clock } from '../clock.ts';
import { ObjectNotFoundError } from '../errors.ts';
import { GARBAGE_GRACE_MS } from './committer.ts';
import { deletedEvent } from './object-event.ts';
import type { EventBus, Ledger, ObjectIndex, VaultStore } from './ports.ts';
import { MAX_PENDING_AGE_MS, newRevisionId } from './revision.ts';

export interface DeleterDeps {
  vaults: VaultStore;
  index: ObjectIndex;
  ledger: Ledger;
  events: EventBus;
  clock: Clock;
  /**
   * How long a tombstone stays: past it no revision older than the delete can still commit
   * (tombstoneLifetimeMs).
   */
  tombstoneMs: number;
}

/** A margin on a tombstone's life for clocks that disagree. */
const TOMBSTONE_MARGIN_MS = 60 * 60 * 1000;

/**
 * How long a tombstone must stay for `pendingTimeoutMs`: as long as a revision older than its
 * delete may still be pending (its longest age, which a write making progress may reach, or
 * the timeout itself where that is longer), plus an hour for clocks.
 */
export function tombstoneLifetimeMs(pendingTimeoutMs: number): number {
  return Math.max(MAX_PENDING_AGE_MS, pendingTimeoutMs) + TOMBSTONE_MARGIN_MS;
}

/**
 * Deletes `key` from `vault`.
 * @throws VaultNotFoundError, ObjectNotFoundError when the key holds nothing.
 */
export async function deleteObject(deps: DeleterDeps, vault: string, key: string): Promise<void> {
  await deps.vaults.get(vault);
  const now = deps.clock.date();
  const removed = await deps.index.remove(
    vault,
    key,
    newRevisionId(now.getTime()),
    now.getTime() + deps.tombstoneMs,
  );
  if (!removed) throw new ObjectNotFoundError(vault, key);
  await deps.ledger.retire(removed.revision, now.getTime() + GARBAGE_GRACE_MS);
  await deps.events.publish(deletedEvent(vault, key, removed.revision, now));
}

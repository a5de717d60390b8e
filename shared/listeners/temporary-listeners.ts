/**
 * The end of temporary listeners (`dsn watch`'s) that nobody removed: a watch killed with no
 * chance to clean up, or a machine gone; and permanent ones whose creator died while making
 * them (they are temporary until made). Three things see to it:
 * - delivery: a node never delivers to an expired listener, and drops its own copy on sight;
 * - reads: an expired listener is not listed or shown;
 * - this sweep, run by the janitor on its schedule: it removes what is left of each expired one
 *   (record, node copy, participant entry, node count) and the watch queue it delivered to.
 * DynamoDB's TTL on the records is a backstop only, should the sweep stop running.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { expired, isWatchQueue } from './listener.ts';
import { pruneEntry } from './listener-registry.ts';
import type { InitiatorStore, ListenerStore, ParticipantStore, WatchQueues } from './ports.ts';

export interface SweepDeps {
  listeners: ListenerStore;
  initiators: InitiatorStore;
  participants: ParticipantStore;
  watchQueues: WatchQueues;
  clock: Clock;
  log: Logger;
}

/** What one sweep removed. */
export interface SweepReport {
  listeners: number;
  queues: number;
}

/**
 * Removes every expired temporary listener and its watch queue. Idempotent: a sweep that died
 * halfway is finished by the next one, since the listener leaves the list of expired ones last.
 */
export async function sweepTemporaryListeners(deps: SweepDeps): Promise<SweepReport> {
  const report: SweepReport = { listeners: 0, queues: 0 };
  for (const listener of await deps.listeners.expiredTemporary(deps.clock.now())) {
    // Made permanent since (a creation's last step; see createListener), its sweep entry left
    // behind by a make that died: the entry goes, the listener stays.
    const record = await deps.listeners.get(listener.vault, listener.id);
    if (record && record.expiresAt === undefined) {
      await deps.listeners.makePermanent(listener.vault, listener.id);
      continue;
    }
    // Renewed since, its sweep entry left behind by a renewal whose second write failed: the
    // entry takes the record's time again, and the listener stays.
    if (record?.expiresAt !== undefined && !expired(record, deps.clock.now())) {
      await deps.listeners.renew(listener.vault, listener.id, record.expiresAt);
      continue;
    }
    await deps.initiators.remove(listener);
    await pruneEntry(deps, listener.vault, listener.path, listener.node);
    const { target } = listener;
    if (target.type === 'sqs' && isWatchQueue(target.queueUrl)) {
      await deps.watchQueues.remove(target.queueUrl);
      report.queues++;
    }
    await deps.listeners.delete(listener);
    report.listeners++;
    deps.log.info('expired temporary listener removed', {
      vault: listener.vault,
      listener: listener.id,
      expiresAt: listener.expiresAt,
    });
  }
  return report;
}

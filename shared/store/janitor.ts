/**
 * The janitor: revisions that will never be visible (pending past their timeout, failed) and
 * those no longer visible (replaced or deleted, past a grace period) lose their slices. It
 * never touches a committed revision: commit removes a revision from the due list in the same
 * conditional write that makes it visible.
 */

import type { Clock } from '../clock.ts';
import { revisionPrefix } from '../codec/index.ts';
import type { Ledger, SliceStore } from './ports.ts';

export interface JanitorDeps {
  ledger: Ledger;
  slices: SliceStore;
  clock: Clock;
  /**
   * The janitor's leased role, when it runs as its holder: renewed before each revision, so a
   * holder that lost the role (taken over, released) stops there (RoleLostError).
   */
  role?: { renew(): Promise<void> };
}

export interface JanitorReport {
  /** Pending revisions given up on. */
  timedOut: number;
  /** Revisions whose slices were removed. */
  purged: number;
  slicesDeleted: number;
}

/** Why the janitor fails a revision still pending at its due time. */
export const TIMED_OUT = 'timed out before reaching the write threshold';

/** One pass over the due revisions, at most `limit` of them. Safe to run twice at once. */
export async function runJanitor(deps: JanitorDeps, limit = 100): Promise<JanitorReport> {
  const now = deps.clock.now();
  const report: JanitorReport = { timedOut: 0, purged: 0, slicesDeleted: 0 };
  for (const record of await deps.ledger.due(now, limit)) {
    await deps.role?.renew();
    if (record.state === 'pending') {
      // Only while still due: a dispersal that made progress since the listing moved it on.
      if (await deps.ledger.fail(record.revision, TIMED_OUT, now, now)) report.timedOut++;
      const again = await deps.ledger.get(record.revision);
      // Committed in the meantime (its slices are the object now), or still pending, its time
      // moved on: nothing of it goes.
      if (again?.state !== 'failed') continue;
    }
    const prefix = revisionPrefix(record.vault, record.objectId, record.revision);
    for (const unit of new Set(record.units)) {
      const keys: string[] = [];
      for await (const slice of deps.slices.list(unit, prefix)) keys.push(slice.key);
      if (keys.length > 0) await deps.slices.delete(unit, keys);
      report.slicesDeleted += keys.length;
    }
    await deps.ledger.purged(record.revision);
    report.purged++;
  }
  return report;
}

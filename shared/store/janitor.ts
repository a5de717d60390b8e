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

/** One pass over the due revisions, at most `limit` of them. Safe to run twice at once. */
export async function runJanitor(deps: JanitorDeps, limit = 100): Promise<JanitorReport> {
  const now = deps.clock.now();
  const report: JanitorReport = { timedOut: 0, purged: 0, slicesDeleted: 0 };
  for (const record of await deps.ledger.due(now, limit)) {
    await deps.role?.renew();
    if (record.state === 'pending') {
      if (
        await deps.ledger.fail(
          record.revision,
          'timed out before reaching the write threshold',
          now,
        )
      ) {
        report.timedOut++;
      }
      const again = await deps.ledger.get(record.revision);
      // Committed in the meantime: its slices are the object now.
      if (!again || again.state === 'committed') continue;
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

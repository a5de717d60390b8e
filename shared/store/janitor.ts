/**
 * The janitor: revisions that will never be visible (pending past their timeout, failed) and
 * those no longer visible (replaced or deleted, past a grace period) lose their slices. It
 * never touches a committed revision: commit removes a revision from the due list in the same
 * conditional write that makes it visible.
 */

import type { Clock } from '../clock.ts';
import { revisionPrefix } from '../codec/index.ts';
import type { Ledger, SliceStore } from './ports.ts';
import type { RevisionRecord } from './revision.ts';

export interface JanitorDeps {
  ledger: Ledger;
  slices: SliceStore;
  clock: Clock;
  /**
   * The janitor's leased role, when it runs as its holder: renewed before each revision, so a
   * holder that lost the role (taken over, released) stops there (RoleLostError).
   */
  role?: { renew(): Promise<void> };
  /** Time left to the invocation (Lambda's context): the run stops a margin before it. */
  remainingMs?: () => number;
}

/** Revisions one read of the due list takes; a run reads on while pages come full. */
export const JANITOR_PAGE = 100;
/** Pages one run reads at most: 5,000 revisions, some minutes of deletes. */
export const JANITOR_MAX_PAGES = 50;
/** Time a run leaves itself, past which it reads no next page. */
export const JANITOR_MARGIN_MS = 30_000;

export interface JanitorReport {
  /** Pending revisions given up on. */
  timedOut: number;
  /** Revisions whose slices were removed. */
  purged: number;
  slicesDeleted: number;
  /** Due revisions were left for the next run (its time or its pages ran out). */
  more: boolean;
}

/**
 * The longest a slice URL given to a client works (MAX_DISPERSAL_URL_SECONDS, dispersal.ts,
 * which imports this module): a failed client dispersal's slices are looked for again after it.
 */
export const CLIENT_URL_LIFETIME_MS = 3600 * 1000;

/** Why the janitor fails a revision still pending at its due time. */
export const TIMED_OUT = 'timed out before reaching the write threshold';

/**
 * One run over the due revisions, page after page of `limit`, until a page comes short, the
 * invocation's time runs low (JANITOR_MARGIN_MS) or JANITOR_MAX_PAGES were read: every write,
 * delete and failed write adds one, so one page per scheduled run would fall behind a vault
 * that overwrites more than 20 objects a minute. Safe to run twice at once.
 */
export async function runJanitor(deps: JanitorDeps, limit = JANITOR_PAGE): Promise<JanitorReport> {
  const report: JanitorReport = { timedOut: 0, purged: 0, slicesDeleted: 0, more: false };
  for (let pages = 1; ; pages++) {
    const page = await deps.ledger.due(deps.clock.now(), limit);
    const before = report.purged;
    await janitorPage(deps, page, report);
    if (page.length < limit) return report;
    // A page that purged nothing (all committed or moved on meanwhile) is read again only at
    // the next run: never a loop over the same records.
    const late = deps.remainingMs !== undefined && deps.remainingMs() < JANITOR_MARGIN_MS;
    if (report.purged === before || late || pages >= JANITOR_MAX_PAGES) {
      report.more = true;
      return report;
    }
  }
}

/** Fails the pending revisions of `page` still due, and purges the failed ones' slices. */
async function janitorPage(
  deps: JanitorDeps,
  page: RevisionRecord[],
  report: JanitorReport,
): Promise<void> {
  const now = deps.clock.now();
  for (const record of page) {
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
    report.purged++;
    // A client's dispersal, failed (cancelled, timed out): URLs it was given may still place
    // slices after this, for as long as they work. It is looked at once more when the last
    // can no longer have (the record stays till then), not left to a rebuild's orphan sweep.
    if (record.clientPlaced && record.state !== 'garbage' && !record.resweep) {
      await deps.ledger.resweepAt(record.revision, now + CLIENT_URL_LIFETIME_MS);
      continue;
    }
    await deps.ledger.purged(record.revision);
  }
}

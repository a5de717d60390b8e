/**
 * The outcome of a write, as its writer (the server's, or a client's dispersal completing)
 * waits for it: committed and visible, refused at the commit (a precondition), failed, or
 * still pending when the wait ends. The committer decides; this only looks, as cheaply as the
 * pace of commits allows.
 */

import type { Clock } from '../clock.ts';
import type { CommitPace } from './commit-pace.ts';
import { type Precondition, preconditionRule } from './object-attributes.ts';
import type { Ledger, ObjectIndex } from './ports.ts';
import type { RevisionRecord } from './revision.ts';

export type WriteOutcome =
  | { state: 'committed'; key: string; revision: string; size: number; sha256: string }
  | { state: 'pending'; key: string; revision: string }
  | { state: 'failed'; key: string; revision: string; failedUnits: number[]; reason: string }
  /** Committed, but its precondition failed as it was to become visible: it never was. */
  | { state: 'refused'; key: string; revision: string; reason: string };

const isCommitted = (r: RevisionRecord | undefined): r is RevisionRecord =>
  r?.state === 'committed' || r?.state === 'garbage';

const committedOutcome = (key: string, r: RevisionRecord): WriteOutcome => ({
  state: 'committed',
  key,
  revision: r.revision,
  size: r.size ?? 0,
  sha256: r.sha256 ?? '',
});

/**
 * How long after `started` a revision committed, by its recorded commit time (`committedAt`), not
 * the moment this wait saw it: a look that came late would otherwise teach a late pace, and the
 * next first look would come as late again, so a pace learnt from its own looks never comes
 * down. Clocks of two hosts may disagree, so the recorded time counts only within what this wait
 * saw.
 */
function commitLatency(committedAt: string | undefined, started: number, seenAt: number): number {
  const seen = seenAt - started;
  const at = committedAt === undefined ? Number.NaN : Date.parse(committedAt);
  return Number.isFinite(at) ? Math.min(seen, Math.max(0, at - started)) : seen;
}

/** Polls while a commit is due (units and committer usually answer within this). */
const POLL_MS = 10;
const POLL_FAST_FOR_MS = 200;
/** Then polls slow down, so a long wait costs few reads. */
const MAX_POLL_MS = 100;
/** Once committed, the tasks take a few writes: look again soon, then back off as before. */
const TASKS_POLL_MS = 3;

/** What the waiting writer knows of its revision. */
export interface Awaited {
  /** A conditional write's precondition: only the index's entry tells it won. */
  precondition?: Precondition;
  /** The vault and size of what it wrote: with the pace of writes of that size, the first look is timed. */
  written?: { vault: string; size: number };
}

/**
 * Polls the ledger until the revision is committed or failed, or `waitMs` has passed; once
 * committed (which never turns back), only the index, until it points at the revision (or at
 * a newer one): that is the first associated task, so visibility does not wait for the others.
 *
 * With the pace of commits known, the first look comes when most of them are in, and reads the
 * index first: its entry pointing at the revision says all there is to say (committed, visible,
 * and the size and digest), so the usual write costs one read. Only a miss reads the ledger,
 * which alone tells a failure or a refusal.
 */
export async function waitForOutcome(
  deps: { ledger: Ledger; index: ObjectIndex; clock: Clock; pace?: CommitPace },
  key: string,
  revision: string,
  waitMs: number,
  awaited: Awaited = {},
): Promise<WriteOutcome> {
  const { clock } = deps;
  const { precondition, written } = awaited;
  const started = clock.now();
  const deadline = started + waitMs;
  const pace = written === undefined ? undefined : deps.pace;
  // A caller that does not wait (waitMs 0) gets the ledger's word at once, as before.
  const paced = written === undefined || waitMs <= 0 ? undefined : pace?.firstLookMs(written.size);
  let delay = paced ?? POLL_MS;
  let committed: RevisionRecord | undefined;
  for (let first = true; ; first = false) {
    if (!first || waitMs > 0)
      await clock.sleep(Math.min(delay, Math.max(0, deadline - clock.now())));
    if (first && paced !== undefined && written !== undefined) {
      const entry = await deps.index.get(written.vault, key);
      if (entry?.revision === revision) {
        pace?.seen(written.size, commitLatency(entry.committedAt, started, clock.now()));
        return { state: 'committed', key, revision, size: entry.size, sha256: entry.sha256 };
      }
    }
    const wasCommitted = committed !== undefined;
    // A conditional write is visible or refused only once its index task has run: until then
    // the ledger is read again, since only it tells a refusal.
    if (!committed || precondition) {
      const r = await deps.ledger.get(revision);
      if (r?.refused !== undefined)
        return {
          state: 'refused',
          key,
          revision,
          reason: r.refused || (precondition ? preconditionRule(precondition) : 'refused'),
        };
      if (r?.state === 'failed') {
        return {
          state: 'failed',
          key,
          revision,
          failedUnits: r.failedUnits,
          reason: r.reason ?? 'failed',
        };
      }
      if (isCommitted(r)) {
        if (!wasCommitted && written)
          pace?.seen(written.size, commitLatency(r.committedAt, started, clock.now()));
        if (r.tasksDone) return committedOutcome(key, r);
        committed = r;
      }
    }
    if (committed) {
      const visible = (await deps.index.get(committed.vault, key))?.revision ?? '';
      // A newer revision there means this one won first, unless it was conditional: then only
      // itself there says it won (a refused one may be followed by newer ones at once).
      if (precondition ? visible === revision : visible >= revision)
        return committedOutcome(key, committed);
    }
    if (clock.now() >= deadline) return { state: 'pending', key, revision };
    if (committed && !wasCommitted) delay = TASKS_POLL_MS;
    else if (!committed && clock.now() - started < POLL_FAST_FOR_MS) delay = POLL_MS;
    else delay = Math.min(delay * 1.5, MAX_POLL_MS);
  }
}

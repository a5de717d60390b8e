/**
 * How a staged upload ends as its write ended, and how one whose dispersal ended with its
 * revision still pending (the write's wait ran out before the commit) follows that revision
 * after: a look at the upload settles it as the revision was decided since (committed, its
 * staging deleted; failed), or queues its dispersal to begin again, from the staged bytes,
 * when the commit fence failed the revision (the vault's topology changed while it waited), as
 * a dispersal in steps does. A revision the janitor failed for want of its units' statuses is
 * the upload's failure here: its bytes were all placed, and placing them again would meet the
 * same units. Without that look an upload said `pending` until it expired, and kept its staged
 * bytes, whatever became of its revision.
 *
 * Nobody need look: the disperser that leaves an upload `pending` queues a follow-up of it, a
 * delayed message the disperser takes up as a look (`followUp`), and each that finds the
 * revision still undecided queues the next, until the revision is decided (the janitor decides
 * it at the latest at its pending timeout).
 */
import type { Clock } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import type { Logger } from '../log.ts';
import { fenceRevision } from './commit-fence.ts';
import { GARBAGE_GRACE_MS } from './committer.ts';
import type {
  DispersalQueue,
  Ledger,
  ObjectIndex,
  StagingStore,
  UploadStore,
  VaultStore,
} from './ports.ts';
import { MAX_PENDING_AGE_MS, revisionTime } from './revision.ts';
import { isSuperseded, topologyReader } from './superseded-write.ts';
import type { Upload, UploadState } from './upload-record.ts';
import { type WriteOutcome, waitForOutcome } from './write-outcome.ts';

/** Where an upload's outcome is recorded. */
interface SettleDeps {
  uploads: UploadStore;
  staging: StagingStore;
}

/**
 * Ends an upload in one of `from` as its write ended: committed (its staging deleted), failed,
 * or pending. Idempotent: a second call finds the upload moved on and changes nothing, but
 * deletes a committed one's staging again (a crash may have come between the two).
 */
export async function settleUpload(
  deps: SettleDeps,
  uploadId: string,
  outcome: WriteOutcome,
  from: UploadState[] = ['dispersing'],
): Promise<void> {
  if (outcome.state === 'committed') {
    await deps.uploads.transition(uploadId, from, {
      state: 'committed',
      revision: outcome.revision,
      sha256: outcome.sha256,
      size: outcome.size,
    });
    await deps.staging.deleteUpload(uploadId);
  } else if (outcome.state === 'failed') {
    await deps.uploads.transition(uploadId, from, {
      state: 'failed',
      revision: outcome.revision,
      reason: outcome.reason,
      failedUnits: outcome.failedUnits,
    });
  } else if (outcome.state === 'refused') {
    await deps.uploads.transition(uploadId, from, {
      state: 'failed',
      revision: outcome.revision,
      reason: outcome.reason,
    });
  } else if (!from.includes('pending')) {
    await deps.uploads.transition(uploadId, from, { state: 'pending', revision: outcome.revision });
  }
}

/** What a look at a pending upload reads its revision with. */
export interface PendingUploadDeps extends SettleDeps {
  vaults: VaultStore;
  dispersal: DispersalQueue;
  clock: Clock;
  revisions: { ledger: Ledger; index: ObjectIndex };
}

/**
 * A look that queued a pending upload's dispersal again holds off the others this long: they
 * answer `dispersing` without a send. Past it, the mark is taken for a send lost to a crash
 * (or a message the disperser has not taken up yet, which a second copy then duplicates).
 */
export const REQUEUE_STALE_MS = 5 * 60_000;

/**
 * Follow-ups of an upload left `pending` come this far apart, at most: no more than half the
 * time a committed revision's record stays in the ledger once replaced (GARBAGE_GRACE_MS)
 * before the janitor may purge it. So one finds every commit while its record is still there,
 * even one replaced at once; without the record, whether it had committed is no longer known
 * (`settleGone`). A revision is decided within minutes, or failed by the janitor's pass past its
 * pending timeout (15 minutes, passes 5 apart): some 40 small messages at the most, but for a
 * dispersal in steps, whose last revision may stay pending past the queue's redelivery.
 */
export const FOLLOW_UP_MS = Math.min(30_000, GARBAGE_GRACE_MS / 2);

/**
 * A claimed follow-up not taken up this long after its claim was lost (its sender died before
 * the send): a delivery of the one before claims it again. A copy of that delivery comes within
 * moments, a redelivery after the queue's visibility timeout.
 */
const FOLLOW_UP_STALE_FACTOR = 4;

/**
 * Follow-ups stop once the revision is this much past the longest a write may stay pending
 * (MAX_PENDING_AGE_MS, when the janitor fails it): what is still undecided then (a commit whose
 * index entry never came) is left to a look.
 */
const FOLLOW_UP_GIVE_UP_MS = 30 * 60_000;

/** SQS's longest message delay. */
const MAX_DELAY_SECONDS = 900;

/** What follows up pending uploads: the queue it comes back through, and the interval. */
export interface FollowUpDeps {
  uploads: UploadStore;
  dispersal: DispersalQueue;
  clock: Clock;
  /** The follow-ups' interval; FOLLOW_UP_MS when absent, and never longer. */
  followUpMs?: number;
  log?: Logger;
}

/** The follow-ups' interval `deps` asks for, held to FOLLOW_UP_MS. */
function intervalOf(deps: Pick<FollowUpDeps, 'followUpMs'>): number {
  return Math.min(deps.followUpMs ?? FOLLOW_UP_MS, FOLLOW_UP_MS);
}

/** Whether follow-up `n` of `upload` is claimed, and not so long ago that its send was lost. */
function claimedLive(deps: FollowUpDeps, upload: Upload, n: number): boolean {
  const claim = upload.followUp;
  if (!claim || claim.n < n) return false;
  return claim.n > n || claim.at >= deps.clock.now() - FOLLOW_UP_STALE_FACTOR * intervalOf(deps);
}

/**
 * Claims follow-up `n` of a pending upload, then sends it. Of concurrent claims (copies of one
 * delivery) one wins, so a chain never forks; a claim whose send a crash lost is claimed again
 * by the redelivery once stale. @returns whether this call sent it.
 */
export async function queueFollowUp(
  deps: FollowUpDeps,
  uploadId: string,
  n: number,
): Promise<boolean> {
  const interval = intervalOf(deps);
  const now = deps.clock.now();
  if (
    !(await deps.uploads.claimFollowUp(uploadId, n, now, now - FOLLOW_UP_STALE_FACTOR * interval))
  )
    return false;
  await deps.dispersal.follow(uploadId, n, Math.min(MAX_DELAY_SECONDS, Math.ceil(interval / 1000)));
  return true;
}

/**
 * A delivery of follow-up `n`: a look at the upload (`followPendingUpload`), then, while its
 * record still says `pending` (its revision undecided, or its dispersal queued again and not
 * taken up yet), follow-up n + 1. A look that fails is logged, and the next follow-up looks
 * again. A copy of a follow-up whose successor is claimed, and any follow-up of an upload no
 * longer pending (settled, dispersing again, or expired), does nothing. Idempotent.
 * @returns the upload as the look answers it, or undefined when it is gone.
 */
export async function followUp(
  deps: PendingUploadDeps & FollowUpDeps,
  uploadId: string,
  n: number,
): Promise<Upload | undefined> {
  const upload = await deps.uploads.get(uploadId);
  if (upload?.state !== 'pending' || claimedLive(deps, upload, n + 1)) return upload;
  const { revision } = upload;
  if (
    revision !== undefined &&
    deps.clock.now() > revisionTime(revision) + MAX_PENDING_AGE_MS + FOLLOW_UP_GIVE_UP_MS
  ) {
    deps.log?.warn('upload follow-ups given up: its revision is still undecided', {
      uploadId,
      revision,
    });
    return upload;
  }
  let looked: Upload = upload;
  try {
    looked = await followPendingUpload(deps, upload);
  } catch (err) {
    deps.log?.warn('upload follow-up failed; the next one looks again', {
      uploadId,
      followUp: n,
      error: describeError(err),
    });
  }
  // A requeue answers `dispersing` while the record stays pending until the disperser takes
  // the message up: should that send have been lost, a later follow-up sends it again.
  if (looked.state === 'pending' || looked.state === 'dispersing')
    await queueFollowUp(deps, uploadId, n + 1);
  return looked;
}

/** The step a pending upload's dispersal begins again with: the one after the last it recorded. */
function stepAgain(upload: Upload): number {
  return (upload.progress?.step ?? 0) + 1;
}

/**
 * Follows a `pending` upload's revision, as a look at the upload does: the upload as it now
 * stands. A revision still pending under a topology superseded past the grace is failed here,
 * as the commit fence would at its commit. One that must begin again has its dispersal queued
 * (step `stepAgain`), and is answered `dispersing`: the disperser moves the record there when
 * it takes the message up, so a crash after the send loses nothing. The send follows a mark
 * on the upload (`markRequeued`), so of many looks (a client polls) one sends, and another
 * only once the mark is REQUEUE_STALE_MS old.
 *
 * A revision gone from the ledger (the janitor purges a failed one in the pass that fails it,
 * and a committed one once replaced) is judged by the index: at the revision, committed; at a
 * newer one, or none, the upload failed, since its revision is not what the key holds. A
 * fenced revision purged before its message was taken up is begun again by the disperser,
 * which finds no record (`beginPendingAgain`).
 */
export async function followPendingUpload(
  deps: PendingUploadDeps,
  upload: Upload,
): Promise<Upload> {
  const { revision } = upload;
  if (upload.state !== 'pending' || revision === undefined) return upload;
  const { ledger, index } = deps.revisions;
  let record = await ledger.get(revision);
  if (!record) return settleGone(deps, upload, revision);
  if (record.state === 'pending') {
    const now = deps.clock.now();
    record = (await fenceRevision(ledger, record, topologyReader(deps.vaults), now)) ?? record;
  }
  if (record.state === 'failed' && isSuperseded(record.reason)) return requeue(deps, upload);
  if (record.state === 'pending') return upload;
  // Decided: the ledger's and the index's word, at once (one committed counts once visible).
  const outcome = await waitForOutcome(
    { ledger, index, clock: deps.clock },
    upload.key,
    revision,
    0,
  );
  if (outcome.state === 'pending') return upload;
  await settleUpload(deps, upload.uploadId, outcome, ['pending']);
  return (await deps.uploads.get(upload.uploadId)) ?? upload;
}

/**
 * Queues a pending upload's dispersal again, at `stepAgain`, if no other look did within
 * REQUEUE_STALE_MS. @returns the upload as the look answers it: dispersing, from its first byte.
 */
async function requeue(deps: PendingUploadDeps, upload: Upload): Promise<Upload> {
  const step = stepAgain(upload);
  const now = deps.clock.now();
  if (await deps.uploads.markRequeued(upload.uploadId, step, now, now - REQUEUE_STALE_MS))
    await deps.dispersal.enqueue(upload.uploadId, step);
  const { progress: _before, ...again } = upload;
  return { ...again, state: 'dispersing' };
}

/**
 * A pending upload whose revision is no longer in the ledger, by the index: committed when the
 * key names the revision; else failed (a failed revision purged, or a committed one replaced
 * since and purged: either way not what the key holds). A purged revision marked for beginning
 * again (`requeued`, the fence's) is left to the disperser's delivery.
 */
async function settleGone(
  deps: PendingUploadDeps,
  upload: Upload,
  revision: string,
): Promise<Upload> {
  if (upload.requeued?.step === stepAgain(upload)) return requeue(deps, upload);
  const entry = await deps.revisions.index.get(upload.vault, upload.key);
  const outcome: WriteOutcome =
    entry?.revision === revision
      ? { state: 'committed', key: upload.key, revision, size: entry.size, sha256: entry.sha256 }
      : {
          state: 'failed',
          key: upload.key,
          revision,
          failedUnits: [],
          reason: `its revision ${revision} is no longer in the ledger (failed and purged by the janitor, or replaced), and the key ${entry ? `holds ${entry.revision}` : 'holds nothing'}: the upload did not write it`,
        };
  await settleUpload(deps, upload.uploadId, outcome, ['pending']);
  return (await deps.uploads.get(upload.uploadId)) ?? upload;
}

/**
 * A delivery of step `step` for a `pending` upload, sent by `followPendingUpload`: the upload
 * moves to `dispersing` at that step, beginning again from its staged bytes (its revision
 * stays named, so the dispersal sees it failed, or gone, and opens a new one), if its revision
 * still must begin again, or was purged since it was marked so. Of two deliveries, one moves
 * it; the other then finds it dispersing at its step, as a duplicate delivery does.
 * @returns the upload as it now stands.
 */
export async function beginPendingAgain(
  deps: { uploads: UploadStore; revisions: { ledger: Ledger } },
  upload: Upload,
  step: number,
): Promise<Upload> {
  const { revision } = upload;
  if (upload.state !== 'pending' || revision === undefined || step !== stepAgain(upload))
    return upload;
  const record = await deps.revisions.ledger.get(revision);
  const again = record
    ? record.state === 'failed' && isSuperseded(record.reason)
    : upload.requeued?.step === step;
  if (!again) return upload;
  // Its follow-ups begin again from the first should this dispersal end pending too.
  await deps.uploads.transition(upload.uploadId, ['pending'], {
    state: 'dispersing',
    progress: { step, revision, segments: 0, offset: 0, queued: true },
    followUp: { n: 0, at: 0 },
  });
  return (await deps.uploads.get(upload.uploadId)) ?? upload;
}

/**
 * The disperser's job: a completed staged upload streamed from staging through the writer, one
 * segment at a time, so memory stays bounded whatever the object's size. A dispersal longer
 * than one invocation goes in steps: each stops at a segment boundary before its time is up,
 * records how far it came on the upload, and queues the next, which resumes the same pending
 * revision from a ranged read of staging and the saved SHA-256. Every step is idempotent: SQS
 * delivers at least once and in any order.
 */
import type { z } from 'zod';
import { describeError } from '../describe-error.ts';
import type { Logger } from '../log.ts';
import { integer, nonEmptyString, parseJsonWith, strictObject } from '../validate.ts';
import { fenceRevision } from './commit-fence.ts';
import { TIMED_OUT } from './janitor.ts';
import type { StagingStore } from './ports.ts';
import { MAX_PENDING_AGE_MS, revisionTime } from './revision.ts';
import { isSuperseded, topologyReader } from './superseded-write.ts';
import type { UploadDeps } from './upload.ts';
import { beginPendingAgain, queueFollowUp, settleUpload } from './upload-outcome.ts';
import type { DispersalProgress, Upload } from './upload-record.ts';
import { type WriteOutcome, waitForOutcome } from './write-outcome.ts';
import {
  type SteppedOutcome,
  type SteppedWriteOptions,
  type WriterDeps,
  writeObjectInSteps,
} from './writer.ts';

/**
 * A dispersal queue message: stream upload `uploadId` through the writer, from where step
 * `step` (0, the first, when absent) begins; or, with `followUp`, follow up the upload its
 * dispersal left `pending` (upload-outcome.ts).
 */
export interface DispersalMessage {
  uploadId: string;
  step?: number;
  followUp?: number;
}

export const dispersalMessageSchema: z.ZodType<DispersalMessage> = strictObject(
  {
    uploadId: nonEmptyString(),
    step: integer(0, Number.MAX_SAFE_INTEGER).optional(),
    followUp: integer(1, Number.MAX_SAFE_INTEGER).optional(),
  },
  'a dispersal message field',
).refine((m) => m.step === undefined || m.followUp === undefined, {
  error: 'names a step or a follow-up, not both',
  path: ['followUp'],
});

/** Parses and checks a dispersal queue body. @throws InvalidParameterError naming the field. */
export function parseDispersalMessage(body: string): DispersalMessage {
  return parseJsonWith(dispersalMessageSchema, body);
}

/**
 * An invocation's time (epoch ms, by the upload's clock): a dispersal that reaches `at` stops
 * taking segments, records its progress and queues its next step; the last step's wait for its
 * commit ends before `endsAt`, when the invocation is cut off (the upload then says `pending`).
 */
export interface DispersalDeadline {
  at: number;
  endsAt: number;
}

/** Left, after the last step's wait for its commit, to record the upload's outcome. */
const OUTCOME_MS = 2000;

/** Where tests make a disperser die (DSN_DISPERSER_CRASH_AT), as a crash or a lost machine would. */
export const DISPERSAL_CRASH_POINTS = [
  /** A step recorded its progress; the next step is not queued yet. */
  'after-advance',
  /** A resumed step sent its first segment. */
  'mid-step',
] as const;
export type DispersalCrashPoint = (typeof DISPERSAL_CRASH_POINTS)[number];

/** What a delivery of a dispersal message names: the upload, and the step it begins. */
export interface DispersalDelivery {
  uploadId: string;
  step?: number;
  /** Its delivery count (SQS's ApproximateReceiveCount); 1 when absent. */
  received?: number;
}

/**
 * The slowest rate (bytes per ms, 8 MB/s) a dispersal is counted on to reach in one invocation:
 * a fifth of the slowest measured here (the 1 GiB staged upload's 40 MB/s). A dispersal whose
 * rest would take longer at this rate than the invocation has goes in steps; shorter ones (up to
 * some 6.7 GB in a 15-minute disperser) go at once, hashed by node:crypto (six times hash-wasm's
 * speed) and scanned as they are written. A redelivered first step goes in steps whatever its
 * size: the last attempt may have been cut off for being slower than this.
 */
const SURE_BYTES_PER_MS = 8000;

/**
 * One attempt at a dispersal step, the `received`-th delivery of its message out of `max`
 * before the dead-letter queue. A failure is thrown (the message comes again) unless this was
 * the last attempt: then the upload ends `failed` with the reason, rather than `dispersing`
 * forever, and the failure is only logged. Idempotent.
 */
export async function attemptDispersal(
  deps: Parameters<typeof disperseUpload>[0] & { log: Logger },
  delivery: DispersalDelivery,
  waitMs: number,
  attempt: { received: number; max: number },
  deadline?: DispersalDeadline,
): Promise<SteppedOutcome | undefined> {
  const { uploadId } = delivery;
  try {
    return await disperseUpload(
      deps,
      { ...delivery, received: attempt.received },
      waitMs,
      deadline,
    );
  } catch (err) {
    // A delivery that found another holding the write leaves the outcome to that one.
    if (attempt.received < attempt.max || err instanceof DispersalHeldError) throw err;
    deps.log.error('dispersal failed on its last attempt', err, { uploadId, ...attempt });
    const { name, message } = describeError(err);
    await deps.uploads.transition(uploadId, ['dispersing'], {
      state: 'failed',
      reason: `dispersal failed ${attempt.received} times, last with ${name}: ${message}`,
    });
    return undefined;
  }
}

/**
 * The staged bytes from `offset` on: the parts before it are skipped, the one it falls in is
 * read from there (a ranged GET), and the rest whole.
 */
async function* stagedFrom(
  staging: StagingStore,
  uploadId: string,
  parts: Array<{ part: number; size: number }>,
  offset: number,
): AsyncGenerator<Uint8Array> {
  let start = 0;
  for (const p of parts) {
    const end = start + p.size;
    if (end > offset) yield* staging.readPart(uploadId, p.part, Math.max(0, offset - start));
    start = end;
  }
}

/**
 * Streams the staged parts through the writer, in steps when a deadline is given: a step that
 * reaches it stops at a segment boundary, records how far it came on the upload (`advance`,
 * conditional on the step, so of two deliveries of one step one goes on) and queues the next,
 * which resumes the same pending revision. Idempotent: a delivery of a step already taken, or
 * of an upload already decided, does nothing, but queue the next step again if the one that
 * recorded it stopped before its message was marked queued.
 */
export async function disperseUpload(
  deps: UploadDeps & {
    writer: WriterDeps;
    log?: Logger;
    /** Kills the process at a named point (tests only); absent, nothing. */
    crash?: (point: DispersalCrashPoint, detail: string) => void;
    /** The follow-ups' interval of an upload left pending; FOLLOW_UP_MS when absent. */
    followUpMs?: number;
  },
  delivery: DispersalDelivery,
  waitMs: number,
  deadline?: DispersalDeadline,
): Promise<SteppedOutcome | undefined> {
  const { uploadId } = delivery;
  const step = delivery.step ?? 0;
  let upload = await deps.uploads.get(uploadId);
  // Sent by a look at an upload whose pending revision was failed since (upload-outcome.ts).
  if (upload?.state === 'pending')
    upload = await beginPendingAgain(
      { uploads: deps.uploads, revisions: { ledger: deps.writer.ledger } },
      upload,
      step,
    );
  // Left pending by a delivery cut off before it sent the first follow-up (claimed or not).
  if (upload?.state === 'pending') await queueFollowUp(deps, uploadId, 1);
  if (upload?.state !== 'dispersing') return undefined;
  const recorded = upload.progress?.step ?? 0;
  if (step !== recorded) {
    // The step that recorded `recorded` may have stopped before its message went out.
    if (step === recorded - 1 && upload.progress?.queued !== true)
      await queueStep(deps, uploadId, recorded);
    deps.log?.info('dispersal step already taken', { uploadId, step, recorded });
    return undefined;
  }
  // The last step's wait for its commit ends before the invocation is cut off.
  const commitWaitMs = deadline
    ? Math.max(0, Math.min(waitMs, deadline.endsAt - OUTCOME_MS - deps.clock.now()))
    : waitMs;
  const taken = await takeUp(deps.writer, upload, commitWaitMs);
  if (taken.go === 'end') {
    await deps.uploads.transition(uploadId, ['dispersing'], {
      state: 'failed',
      revision: taken.revision,
      reason: taken.reason,
    });
    return undefined;
  }
  if (taken.go === 'settled') {
    // An earlier delivery wrote it to the end, and was cut off before it said so.
    await settleDispersal(deps, uploadId, taken.outcome);
    return taken.outcome;
  }
  const { resume } = taken;
  const parts = await deps.staging.listParts(uploadId);
  const size = parts.reduce((n, p) => n + p.size, 0);
  const rest = size - (resume?.at.size ?? 0);
  const inSteps =
    deadline !== undefined &&
    (resume !== undefined ||
      (delivery.received ?? 1) > 1 ||
      rest > (deadline.at - deps.clock.now()) * SURE_BYTES_PER_MS);
  const outcome = await writeObjectInSteps(
    deps.writer,
    upload.vault,
    upload.key,
    stagedFrom(deps.staging, uploadId, parts, resume?.at.size ?? 0),
    {
      waitMs: commitWaitMs,
      attributes: upload.attributes,
      writer: upload.writer,
      ...(resume
        ? { resume }
        : {
            claim: async (revision) =>
              (await deps.uploads.claimRevision(uploadId, revision, upload.revision)) ||
              // A claim whose answer was lost, and whose retry then found it made.
              (await deps.uploads.get(uploadId))?.revision === revision,
          }),
      // Never at the very end: the next step would have nothing to send.
      ...(inSteps
        ? {
            stopBefore: (sent) => {
              if (step > 0) deps.crash?.('mid-step', `${uploadId} step ${step}`);
              return sent < size && deps.clock.now() >= deadline.at;
            },
          }
        : {}),
    },
  );
  if (outcome.state === 'paused') {
    const next = step + 1;
    const progress = {
      step: next,
      revision: outcome.revision,
      segments: outcome.at.segment,
      offset: outcome.at.size,
      sha256State: outcome.at.sha256State,
    };
    if (
      (await deps.uploads.advance(uploadId, progress)) ||
      // An advance whose answer was lost, and whose retry then found it made.
      sameStep((await deps.uploads.get(uploadId))?.progress, progress)
    ) {
      // Should the next step fail, its message comes again only after the queue's visibility
      // timeout (90 minutes as deployed): the revision stays pending past that, so the
      // redelivery resumes it rather than begin again after the janitor failed it.
      const redelivered = deps.writer.clock.now() + (await deps.dispersal.redeliveryDelayMs());
      await deps.writer.ledger.extendPending(
        outcome.revision,
        Math.min(
          redelivered + deps.writer.pendingTimeoutMs,
          revisionTime(outcome.revision) +
            Math.max(MAX_PENDING_AGE_MS, deps.writer.pendingTimeoutMs),
        ),
      );
      deps.crash?.('after-advance', `${uploadId} step ${next}`);
      await queueStep(deps, uploadId, next);
      deps.log?.info('dispersal step done', { uploadId, ...progress, sha256State: undefined });
    }
    return outcome;
  }
  if (outcome.state === 'failed' && beginsAgain(outcome.reason)) {
    // Failed while this wrote it, by the commit fence (the vault's topology changed) or by the
    // janitor (a step that outlasted the pending timeout): not for its bytes or its units, so
    // the next step begins again from the staged bytes, as a redelivery finding it so would.
    const progress = { step: step + 1, revision: outcome.revision, segments: 0, offset: 0 };
    if (
      (await deps.uploads.advance(uploadId, progress)) ||
      sameStep((await deps.uploads.get(uploadId))?.progress, progress)
    ) {
      await queueStep(deps, uploadId, progress.step);
      deps.log?.info('dispersal begins again', {
        uploadId,
        revision: outcome.revision,
        reason: outcome.reason,
      });
    }
    return outcome;
  }
  if (outcome.state === 'unclaimed') {
    // SQS deletes a message delivered twice when either copy is acknowledged: this copy comes
    // again after the visibility timeout, in case the one that holds the write dies before it
    // records anything. By then it finds the write done, or resumes it.
    throw new DispersalHeldError(uploadId, outcome.revision);
  }
  await settleDispersal(deps, uploadId, outcome);
  return outcome;
}

/**
 * Ends a dispersing upload as its write ended; one left pending (its wait ran out before the
 * commit) is followed up from then on, so it settles as its revision is decided whether or not
 * anyone looks at it (upload-outcome.ts).
 */
async function settleDispersal(
  deps: UploadDeps & { followUpMs?: number; log?: Logger },
  uploadId: string,
  outcome: WriteOutcome,
): Promise<void> {
  await settleUpload(deps, uploadId, outcome);
  if (outcome.state === 'pending') await queueFollowUp(deps, uploadId, 1);
}

/** Thrown by a delivery that found its dispersal held by another delivery of the same message. */
export class DispersalHeldError extends Error {
  override name = 'DispersalHeldError';
  constructor(uploadId: string, dropped: string) {
    super(
      `the dispersal of upload ${uploadId} is held by another delivery of its message; this one dropped its revision ${dropped} and comes again`,
    );
  }
}

/**
 * Whether a revision failed for `reason` leaves its upload to begin again with a new one: failed
 * by the janitor for want of progress, or by the commit fence of a topology change. Other
 * failures (its units) are the upload's outcome.
 */
function beginsAgain(reason: string | undefined): boolean {
  return reason === TIMED_OUT || isSuperseded(reason);
}

/** Whether `recorded` is `progress` (its queued mark aside). */
function sameStep(recorded: DispersalProgress | undefined, progress: DispersalProgress): boolean {
  return (
    recorded?.step === progress.step &&
    recorded.revision === progress.revision &&
    recorded.offset === progress.offset
  );
}

/** Queues step `step`, then marks it queued: a delivery of the step before re-sends it only until then. */
async function queueStep(deps: UploadDeps, uploadId: string, step: number): Promise<void> {
  await deps.dispersal.enqueue(uploadId, step);
  await deps.uploads.markStepQueued(uploadId, step);
}

/**
 * How a delivery takes up what the earlier ones left, by the revision the upload names (the one
 * its dispersal opened):
 * - none yet: it goes `on` with a new revision;
 * - still pending: it goes `on` with it, from the progress recorded for it, or from its first
 *   segment (a first step cut off, its slices placed again to the same bytes);
 * - decided (committed, refused, failed by its units): it is `settled`, the upload ends as
 *   that write did. An earlier delivery wrote it to the end and was cut off before it recorded
 *   the outcome; writing again would write the object twice;
 * - failed by the janitor for want of progress (a step redelivered after the pending timeout),
 *   by the commit fence (the vault's topology changed while it was written; one still pending
 *   under a topology superseded past the grace is failed here, as the fence would at its
 *   commit), or gone from the ledger with nothing newer at its key: it begins `again` with a
 *   new revision, the bytes still being staged;
 * - it `end`s instead when beginning again would write over what it must not: the revision had
 *   reached the most a write may stay pending (so would a new one), or the key was written or
 *   deleted since the revision was opened (its new revision would win over that, where this
 *   one would have lost; the janitor purges failed revisions, and committed ones once
 *   replaced: the staged bytes, older, must not come back over the newer state).
 */
async function takeUp(
  writer: WriterDeps,
  upload: Upload,
  waitMs: number,
): Promise<
  | { go: 'on'; resume?: NonNullable<SteppedWriteOptions['resume']> }
  | { go: 'end'; reason: string; revision: string }
  | { go: 'settled'; outcome: WriteOutcome }
> {
  const { progress } = upload;
  // Uploads whose steps began before the revision was named on the upload have it in progress.
  const revision = upload.revision ?? progress?.revision;
  if (revision === undefined) return { go: 'on' };
  let record = await writer.ledger.get(revision);
  if (record?.state === 'pending') {
    const now = writer.clock.now();
    const fenced = await fenceRevision(writer.ledger, record, topologyReader(writer.vaults), now);
    if (!fenced) {
      const at =
        progress?.revision === revision
          ? { segment: progress.segments, size: progress.offset, sha256State: progress.sha256State }
          : { segment: 0, size: 0 };
      return { go: 'on', resume: { record, at } };
    }
    // The vault's topology changed past its grace: the revision could no longer commit (the
    // commit fence), so it is failed here, and begins again below, from the staged bytes.
    record = fenced;
  }
  if (record && !(record.state === 'failed' && beginsAgain(record.reason))) {
    const outcome = await waitForOutcome(writer, upload.key, revision, waitMs);
    return { go: 'settled', outcome };
  }
  // Beginning again writes a newer revision than this one: not over a write or delete of the
  // key made since this one was opened, which this one would have lost to.
  const newest = await writer.index.newest(upload.vault, upload.key);
  // Revision ids are ASCII and order by time, as the index orders them.
  if (newest && newest.revision >= revision)
    return {
      go: 'end',
      revision,
      reason: `its revision ${revision} ${record ? `failed (${record.reason})` : 'is no longer in the ledger'}, and the key was ${newest.deleted ? 'deleted' : 'written'} since (${newest.revision}): the staged bytes are not written over that`,
    };
  const longest = Math.max(MAX_PENDING_AGE_MS, writer.pendingTimeoutMs);
  const age = writer.clock.now() - revisionTime(revision);
  if (age < longest - writer.pendingTimeoutMs) return { go: 'on' };
  return {
    go: 'end',
    revision,
    reason: `the dispersal took longer than a write may stay pending (${longest / 3_600_000} h), with ${progress?.revision === revision ? progress.offset : 0} bytes dispersed`,
  };
}

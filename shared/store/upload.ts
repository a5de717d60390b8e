/**
 * Staged uploads, for objects larger than one API call carries: the client sends parts (each
 * up to the inline limit) into a staging bucket, then completes; a disperser then streams the
 * parts, in order, through the writer, one segment at a time, so memory stays bounded whatever
 * the object's size. Completing only queues the dispersal: the client polls the upload.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import {
  describeError,
  InvalidParameterError,
  UploadNotFoundError,
  UploadQuotaExceededError,
  UploadStateError,
} from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  decimalInteger,
  integer,
  nonEmptyString,
  parseJsonWith,
  parseWith,
  resourceId,
  strictObject,
} from '../validate.ts';
import { attributesFromFields } from './object-attributes.ts';
import { objectKeySchema } from './object-key.ts';
import type {
  DispersalQueue,
  MultipartPart,
  MultipartStaging,
  StagingStore,
  UploadStore,
  VaultStore,
} from './ports.ts';
import { MAX_PENDING_AGE_MS, revisionTime } from './revision.ts';
import type { DispersalProgress, Upload } from './upload-record.ts';
import {
  type SteppedOutcome,
  type SteppedWriteOptions,
  type WriterDeps,
  writeObjectInSteps,
} from './writer.ts';
export const MAX_PARTS = 10_000;

const MiB = 1024 * 1024;
/** S3's multipart part sizes: every part but the last at least 5 MiB, none above 5 GiB. */
export const MIN_PRESIGNED_PART = 5 * MiB;
export const MAX_PRESIGNED_PART = 5 * 1024 * MiB;
/**
 * Parts one presigned upload may plan: each URL is about 1 KB (more with a session token), and
 * the answer that carries them must stay within Lambda's 6 MB. With 5 GiB parts: 5 TiB.
 */
export const MAX_PRESIGNED_PARTS = 1000;
/** How long presigned part URLs work; a Lambda role's session may end them sooner. */
export const PRESIGNED_URL_SECONDS = 3600;

/**
 * The body of `POST /vaults/{vault}/uploads`: the key the object will have, and for a presigned
 * upload (`presigned: true`) its size in bytes and, optionally, the part size (default: 8 MiB,
 * or more so that the parts stay within MAX_PRESIGNED_PARTS).
 */
export const createUploadSchema = strictObject(
  {
    key: objectKeySchema,
    presigned: z.boolean().optional(),
    size: integer(1, MAX_PRESIGNED_PARTS * MAX_PRESIGNED_PART).optional(),
    partSize: integer(MIN_PRESIGNED_PART, MAX_PRESIGNED_PART).optional(),
    contentType: z.string().optional(),
    contentDisposition: z.string().optional(),
    meta: z.record(z.string(), z.string()).optional(),
  },
  'an upload field',
);

/** A part number, 1-based, as S3's multipart uploads count them. */
export const partNumberSchema = integer(1, MAX_PARTS, `must be an integer 1..${MAX_PARTS}`);

/** A part number as the path spells it: `7`, never `7.0`, `07`, `0x7` or `7e0`. */
export const partParamSchema = decimalInteger(1, MAX_PARTS);

/** The part number in a path parameter. @throws InvalidParameterError on `part`. */
export function parsePartNumber(text: unknown): number {
  return parseWith(partParamSchema, text, { name: 'part' });
}

/** An upload id as a client sends it back; see `resourceId`. */
export const uploadIdSchema = resourceId();

/** The upload id in a path parameter. @throws InvalidParameterError on `upload`. */
export function parseUploadId(text: unknown): string {
  return parseWith(uploadIdSchema, text, { name: 'upload' });
}

/**
 * A dispersal queue message: stream upload `uploadId` through the writer, from where step
 * `step` (0, the first, when absent) begins.
 */
export interface DispersalMessage {
  uploadId: string;
  step?: number;
}

export const dispersalMessageSchema: z.ZodType<DispersalMessage> = strictObject(
  { uploadId: nonEmptyString(), step: integer(0, Number.MAX_SAFE_INTEGER).optional() },
  'a dispersal message field',
);

/** Parses and checks a dispersal queue body. @throws InvalidParameterError naming the field. */
export function parseDispersalMessage(body: string): DispersalMessage {
  return parseJsonWith(dispersalMessageSchema, body);
}

export interface UploadDeps {
  vaults: VaultStore;
  uploads: UploadStore;
  staging: StagingStore;
  dispersal: DispersalQueue;
  clock: Clock;
  /** Presigned uploads, where the deployment offers them. */
  multipart?: MultipartStaging;
}

/** An upload as `POST .../uploads` answers it: a presigned one with its part URLs. */
export type CreatedUpload = Upload & { urls?: Array<{ part: number; url: string }> };

/** The part size and count of a presigned upload of `size` bytes. @throws InvalidParameterError */
function planParts(
  size: number,
  partSize: number | undefined,
): { partSize: number; parts: number } {
  const chosen = partSize ?? Math.max(8 * MiB, Math.ceil(size / MAX_PRESIGNED_PARTS / MiB) * MiB);
  const parts = Math.ceil(size / chosen);
  if (parts > MAX_PRESIGNED_PARTS)
    throw new InvalidParameterError(
      'partSize',
      `must make at most ${MAX_PRESIGNED_PARTS} parts of ${size} bytes (at least ${Math.ceil(size / MAX_PRESIGNED_PARTS)}), got ${chosen}`,
    );
  return { partSize: chosen, parts };
}

/** An upload's record and staged parts go this long after it opened, completed or not. */
export const UPLOAD_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** Staged uploads one caller may hold open at once (each may stage up to 10,000 parts). */
export const MAX_OPEN_UPLOADS = 100;

/**
 * Opens a staged upload for `caller`, written as `writer`'s (a root key id) when given.
 * @throws VaultNotFoundError, InvalidParameterError, UploadQuotaExceededError
 */
export async function createUpload(
  deps: UploadDeps,
  vault: string,
  body: unknown,
  caller: string,
  writer?: string,
): Promise<CreatedUpload> {
  await deps.vaults.get(vault);
  const request = parseWith(createUploadSchema, body);
  const { key } = request;
  if (!request.presigned && (request.size !== undefined || request.partSize !== undefined))
    throw new InvalidParameterError(
      request.size !== undefined ? 'size' : 'partSize',
      'is taken only with "presigned": true',
    );
  if (request.presigned && request.size === undefined)
    throw new InvalidParameterError('size', 'is required with "presigned": true (bytes, >= 1)');
  if (request.presigned && !deps.multipart)
    throw new InvalidParameterError('presigned', 'this deployment offers no presigned uploads');
  const plan = request.presigned ? planParts(request.size as number, request.partSize) : undefined;
  const attributes = attributesFromFields(request);
  const now = deps.clock.now();
  const upload: Upload = {
    uploadId: `u${now.toString(36)}${randomBytes(8).toString('hex')}`,
    vault,
    key,
    state: 'open',
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + UPLOAD_LIFETIME_MS).toISOString(),
    caller,
    ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    ...(writer === undefined ? {} : { writer }),
  };
  const expiresAt = now + UPLOAD_LIFETIME_MS;
  if (!(await deps.uploads.admit(caller, upload.uploadId, expiresAt, MAX_OPEN_UPLOADS, now)))
    throw new UploadQuotaExceededError(caller, MAX_OPEN_UPLOADS);
  if (!plan || !deps.multipart) {
    await deps.uploads.create(upload);
    return upload;
  }
  const multipart = deps.multipart;
  const multipartId = await multipart.openMultipart(upload.uploadId);
  upload.presigned = {
    multipartId,
    ...plan,
    urlsExpireAt: new Date(now + PRESIGNED_URL_SECONDS * 1000).toISOString(),
  };
  await deps.uploads.create(upload);
  const urls = await Promise.all(
    Array.from({ length: plan.parts }, async (_, i) => ({
      part: i + 1,
      url: await multipart.presignPart(upload.uploadId, multipartId, i + 1, PRESIGNED_URL_SECONDS),
    })),
  );
  return { ...upload, urls };
}

/**
 * Joins a presigned upload's parts into its staged object, once they are 1..N with no gap and
 * every part but the last at least 5 MiB (S3's rule). Nothing to do once joined (a repeated
 * completion). @throws InvalidParameterError on `parts`.
 */
async function joinPresignedParts(deps: UploadDeps, upload: Upload): Promise<void> {
  const presigned = upload.presigned;
  if (!presigned || !deps.multipart) return;
  const parts = await deps.multipart.listMultipartParts(upload.uploadId, presigned.multipartId);
  if (parts === undefined) return;
  const gap = parts.findIndex((p, i) => p.part !== i + 1);
  const small = parts.findIndex((p, i) => i < parts.length - 1 && p.size < MIN_PRESIGNED_PART);
  const wrong =
    parts.length === 0
      ? 'no part was uploaded'
      : gap >= 0
        ? `part ${gap + 1} is missing (parts must be 1..N with no gap)`
        : small >= 0
          ? `part ${small + 1} is ${(parts[small] as MultipartPart).size} bytes; every part but the last must be at least ${MIN_PRESIGNED_PART} (5 MiB)`
          : undefined;
  if (wrong) throw new InvalidParameterError('parts', wrong);
  await deps.multipart.completeMultipart(upload.uploadId, presigned.multipartId, parts);
}

async function openUpload(deps: UploadDeps, vault: string, uploadId: string): Promise<Upload> {
  const upload = await deps.uploads.get(uploadId);
  if (!upload || upload.vault !== vault) throw new UploadNotFoundError(uploadId);
  return upload;
}

/** An upload as the API answers it: a dispersal in steps says how far it came, not its state. */
export type UploadView = Omit<Upload, 'progress'> & {
  /** Bytes dispersed so far, while a dispersal in steps goes on. */
  dispersed?: number;
};

export async function getUpload(
  deps: UploadDeps,
  vault: string,
  uploadId: string,
): Promise<UploadView> {
  const { progress, ...upload } = await openUpload(deps, vault, uploadId);
  return progress && upload.state === 'dispersing'
    ? { ...upload, dispersed: progress.offset }
    : upload;
}

/** The reason an upload aborted by its writer ends `failed` with. */
export const ABORTED_BY_WRITER = 'aborted by its writer';

/**
 * Aborts an open upload, as S3's AbortMultipartUpload does: it ends `failed` (its reason
 * ABORTED_BY_WRITER) in the conditional write completing also needs, so exactly one of the two
 * wins; its staged parts (a presigned upload's multipart upload) are deleted now rather than
 * at its expiry, and it stops counting among its caller's open uploads. Aborting again answers
 * the same, and finishes what a crash part-way left.
 * @throws UploadNotFoundError; UploadStateError once completed
 */
export async function abortUpload(
  deps: UploadDeps,
  vault: string,
  uploadId: string,
): Promise<Upload> {
  const upload = await openUpload(deps, vault, uploadId);
  const aborted = { state: 'failed', reason: ABORTED_BY_WRITER } as const;
  if (upload.state === 'open') {
    // Lost to a completion (or another abort) since the read: answer from the state it won.
    if (!(await deps.uploads.transition(uploadId, ['open'], aborted)))
      return abortUpload(deps, vault, uploadId);
  } else if (upload.state !== 'failed' || upload.reason !== ABORTED_BY_WRITER) {
    throw new UploadStateError(
      uploadId,
      `is ${upload.state}; only an open upload can be aborted (it was completed)`,
    );
  }
  if (upload.presigned && deps.multipart)
    await deps.multipart.abortMultipart(uploadId, upload.presigned.multipartId);
  await deps.staging.deleteUpload(uploadId);
  await deps.uploads.release(upload.caller, uploadId);
  return { ...upload, ...aborted };
}

/** Stores part `part` (1-based). Sending a part again replaces it. */
export async function putPart(
  deps: UploadDeps,
  vault: string,
  uploadId: string,
  part: number,
  body: Uint8Array,
): Promise<void> {
  parseWith(partNumberSchema, part, { name: 'part' });
  const upload = await openUpload(deps, vault, uploadId);
  if (upload.presigned)
    throw new UploadStateError(uploadId, 'is presigned: its parts go to their presigned URLs');
  if (upload.state !== 'open')
    throw new UploadStateError(uploadId, `is ${upload.state}; parts are taken only while open`);
  await deps.staging.putPart(uploadId, part, body);
  // A completion that sealed the upload while this part travelled did not list it: say so
  // rather than answer as if it counted. (Completion seals before it lists the parts.)
  const after = await deps.uploads.get(uploadId);
  if (after?.state === 'failed' && after.reason === ABORTED_BY_WRITER) {
    // The abort's deletion may have listed the parts before this one landed.
    await deps.staging.deleteUpload(uploadId);
    throw new UploadStateError(uploadId, `was aborted while part ${part} was being stored`);
  }
  if (after?.state !== 'open')
    throw new UploadStateError(
      uploadId,
      `was completed while part ${part} was being stored; the part is not in the upload`,
    );
}

/**
 * Seals the upload, checks that parts 1..N are all there, and queues the dispersal. Sealing
 * comes first, so a part stored after the listing cannot be left out unseen (putPart looks
 * again after storing). Completing again is harmless; one interrupted after the seal and
 * before the dispersal was queued is finished by the next call.
 * @throws InvalidParameterError when parts are missing (the upload stays open).
 */
export async function completeUpload(
  deps: UploadDeps,
  vault: string,
  uploadId: string,
): Promise<Upload> {
  const upload = await openUpload(deps, vault, uploadId);
  if (upload.state === 'open') {
    if (!(await deps.uploads.transition(uploadId, ['open'], { state: 'dispersing' })))
      return openUpload(deps, vault, uploadId);
  } else if (upload.state !== 'dispersing' || upload.parts !== undefined) {
    return upload;
  }
  try {
    await joinPresignedParts(deps, upload);
  } catch (err) {
    await deps.uploads.transition(uploadId, ['dispersing'], { state: 'open' });
    throw err;
  }
  const parts = await deps.staging.listParts(uploadId);
  const gap = parts.findIndex((p, i) => p.part !== i + 1);
  const missing =
    parts.length === 0
      ? 'no part was uploaded'
      : gap >= 0
        ? `part ${gap + 1} is missing (parts must be 1..N with no gap)`
        : undefined;
  if (missing) {
    await deps.uploads.transition(uploadId, ['dispersing'], { state: 'open' });
    throw new InvalidParameterError('parts', missing);
  }
  const size = parts.reduce((n, p) => n + p.size, 0);
  // Queued before the counts are recorded: an upload sealed with no counts is one whose
  // dispersal may not be queued yet, and a later call queues it.
  await deps.dispersal.enqueue(uploadId);
  await deps.uploads.transition(uploadId, ['dispersing'], { parts: parts.length, size });
  await deps.uploads.release(upload.caller, uploadId);
  return { ...upload, state: 'dispersing', parts: parts.length, size };
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
    if (attempt.received < attempt.max) throw err;
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
  },
  delivery: DispersalDelivery,
  waitMs: number,
  deadline?: DispersalDeadline,
): Promise<SteppedOutcome | undefined> {
  const { uploadId } = delivery;
  const step = delivery.step ?? 0;
  const upload = await deps.uploads.get(uploadId);
  if (upload?.state !== 'dispersing') return undefined;
  const recorded = upload.progress?.step ?? 0;
  if (step !== recorded) {
    // The step that recorded `recorded` may have stopped before its message went out.
    if (step === recorded - 1 && upload.progress?.queued !== true)
      await queueStep(deps, uploadId, recorded);
    deps.log?.info('dispersal step already taken', { uploadId, step, recorded });
    return undefined;
  }
  const taken = await takeUp(deps.writer, upload.progress);
  if (taken.go === 'end') {
    await deps.uploads.transition(uploadId, ['dispersing'], {
      state: 'failed',
      revision: taken.revision,
      reason: taken.reason,
    });
    return undefined;
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
      waitMs: deadline
        ? Math.max(0, Math.min(waitMs, deadline.endsAt - OUTCOME_MS - deps.clock.now()))
        : waitMs,
      attributes: upload.attributes,
      writer: upload.writer,
      ...(resume ? { resume } : {}),
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
    if (await deps.uploads.advance(uploadId, progress)) {
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
  if (outcome.state === 'committed') {
    await deps.uploads.transition(uploadId, ['dispersing'], {
      state: 'committed',
      revision: outcome.revision,
      sha256: outcome.sha256,
      size: outcome.size,
    });
    await deps.staging.deleteUpload(uploadId);
  } else if (outcome.state === 'failed') {
    await deps.uploads.transition(uploadId, ['dispersing'], {
      state: 'failed',
      revision: outcome.revision,
      reason: outcome.reason,
      failedUnits: outcome.failedUnits,
    });
  } else if (outcome.state === 'refused') {
    await deps.uploads.transition(uploadId, ['dispersing'], {
      state: 'failed',
      revision: outcome.revision,
      reason: outcome.reason,
    });
  } else {
    await deps.uploads.transition(uploadId, ['dispersing'], {
      state: 'pending',
      revision: outcome.revision,
    });
  }
  return outcome;
}

/** Queues step `step`, then marks it queued: a delivery of the step before re-sends it only until then. */
async function queueStep(deps: UploadDeps, uploadId: string, step: number): Promise<void> {
  await deps.dispersal.enqueue(uploadId, step);
  await deps.uploads.markStepQueued(uploadId, step);
}

/**
 * How a step takes up what the earlier ones left: it goes `on` with their revision while it is
 * still pending. One the janitor failed meanwhile for want of progress (a step redelivered after
 * the pending timeout) is not resumed: the dispersal begins `again` with a new revision, the
 * bytes still being staged. One that had reached the most a write may stay pending ends the
 * upload (`end`): beginning again would meet the same end.
 */
async function takeUp(
  writer: WriterDeps,
  progress: DispersalProgress | undefined,
): Promise<
  | { go: 'on'; resume?: NonNullable<SteppedWriteOptions['resume']> }
  | { go: 'end'; reason: string; revision: string }
> {
  if (!progress) return { go: 'on' };
  const record = await writer.ledger.get(progress.revision);
  if (record?.state === 'pending')
    return {
      go: 'on',
      resume: {
        record,
        at: {
          segment: progress.segments,
          size: progress.offset,
          sha256State: progress.sha256State,
        },
      },
    };
  const longest = Math.max(MAX_PENDING_AGE_MS, writer.pendingTimeoutMs);
  const age = writer.clock.now() - revisionTime(progress.revision);
  if (age < longest - writer.pendingTimeoutMs) return { go: 'on' };
  return {
    go: 'end',
    revision: progress.revision,
    reason: `the dispersal took longer than a write may stay pending (${longest / 3_600_000} h), with ${progress.offset} bytes dispersed`,
  };
}

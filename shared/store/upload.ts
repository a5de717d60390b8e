/**
 * Staged uploads, for objects larger than one API call carries: the client sends parts (each
 * up to the inline limit) into a staging bucket, then completes; a disperser then streams the
 * parts, in order, through the writer, one segment at a time, so memory stays bounded whatever
 * the object's size. Completing only queues the dispersal: the client polls the upload.
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
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
import { objectKeySchema } from './object-key.ts';
import type { DispersalQueue, StagingStore, UploadStore, VaultStore } from './ports.ts';
import type { Upload } from './upload-record.ts';
import { type WriteOutcome, type WriterDeps, writeObject } from './writer.ts';
export const MAX_PARTS = 10_000;

/** The body of `POST /vaults/{vault}/uploads`: the key the object will have. */
export const createUploadSchema = strictObject({ key: objectKeySchema }, 'an upload field');

/** A part number, 1-based, as S3's multipart uploads count them. */
export const partNumberSchema = integer(1, MAX_PARTS, `must be an integer 1..${MAX_PARTS}`);

/** A part number as the path spells it: `7`, never `7.0`, `07`, `0x7` or `7e0`. */
const partParamSchema = decimalInteger(1, MAX_PARTS);

/** The part number in a path parameter. @throws InvalidParameterError on `part`. */
export function parsePartNumber(text: unknown): number {
  return parseWith(partParamSchema, text, { name: 'part' });
}

/** An upload id as a client sends it back; see `resourceId`. */
const uploadIdSchema = resourceId();

/** The upload id in a path parameter. @throws InvalidParameterError on `upload`. */
export function parseUploadId(text: unknown): string {
  return parseWith(uploadIdSchema, text, { name: 'upload' });
}

/** A dispersal queue message: stream upload `uploadId` through the writer. */
export interface DispersalMessage {
  uploadId: string;
}

export const dispersalMessageSchema: z.ZodType<DispersalMessage> = strictObject(
  { uploadId: nonEmptyString() },
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
): Promise<Upload> {
  await deps.vaults.get(vault);
  const { key } = parseWith(createUploadSchema, body);
  const now = deps.clock.now();
  const upload: Upload = {
    uploadId: `u${now.toString(36)}${randomBytes(8).toString('hex')}`,
    vault,
    key,
    state: 'open',
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + UPLOAD_LIFETIME_MS).toISOString(),
    caller,
    ...(writer === undefined ? {} : { writer }),
  };
  const expiresAt = now + UPLOAD_LIFETIME_MS;
  if (!(await deps.uploads.admit(caller, upload.uploadId, expiresAt, MAX_OPEN_UPLOADS, now)))
    throw new UploadQuotaExceededError(caller, MAX_OPEN_UPLOADS);
  await deps.uploads.create(upload);
  return upload;
}

async function openUpload(deps: UploadDeps, vault: string, uploadId: string): Promise<Upload> {
  const upload = await deps.uploads.get(uploadId);
  if (!upload || upload.vault !== vault) throw new UploadNotFoundError(uploadId);
  return upload;
}

export async function getUpload(
  deps: UploadDeps,
  vault: string,
  uploadId: string,
): Promise<Upload> {
  return openUpload(deps, vault, uploadId);
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
  if (upload.state !== 'open')
    throw new UploadStateError(uploadId, `is ${upload.state}; parts are taken only while open`);
  await deps.staging.putPart(uploadId, part, body);
  // A completion that sealed the upload while this part travelled did not list it: say so
  // rather than answer as if it counted. (Completion seals before it lists the parts.)
  const after = await deps.uploads.get(uploadId);
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
 * One attempt at a dispersal, the `received`-th delivery of its message out of `max` before
 * the dead-letter queue. A failure is thrown (the message comes again) unless this was the
 * last attempt: then the upload ends `failed` with the reason, rather than `dispersing`
 * forever, and the failure is only logged. Idempotent.
 */
export async function attemptDispersal(
  deps: UploadDeps & { writer: WriterDeps; log: Logger },
  uploadId: string,
  waitMs: number,
  attempt: { received: number; max: number },
): Promise<WriteOutcome | undefined> {
  try {
    return await disperseUpload(deps, uploadId, waitMs);
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
 * Streams the staged parts through the writer. Idempotent: a redelivered dispersal of an
 * upload already decided does nothing.
 */
export async function disperseUpload(
  deps: UploadDeps & { writer: WriterDeps },
  uploadId: string,
  waitMs: number,
): Promise<WriteOutcome | undefined> {
  const upload = await deps.uploads.get(uploadId);
  if (upload?.state !== 'dispersing') return undefined;
  const parts = await deps.staging.listParts(uploadId);
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const p of parts) yield* deps.staging.readPart(uploadId, p.part);
  }
  const outcome = await writeObject(deps.writer, upload.vault, upload.key, body(), {
    waitMs,
    writer: upload.writer,
  });
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
  } else {
    await deps.uploads.transition(uploadId, ['dispersing'], {
      state: 'pending',
      revision: outcome.revision,
    });
  }
  return outcome;
}

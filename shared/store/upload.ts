/**
 * Staged uploads, for objects larger than one API call carries: the client sends parts (each
 * up to the inline limit) into a staging bucket, then completes; a disperser then streams the
 * parts, in order, through the writer (staged-dispersal.ts). Completing only queues the
 * dispersal: the client polls the upload.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import {
  InvalidParameterError,
  UploadNotFoundError,
  UploadQuotaExceededError,
  UploadStateError,
} from '../errors.ts';
import { decimalInteger, integer, parseWith, resourceId, strictObject } from '../validate.ts';
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
import { followPendingUpload, type PendingUploadDeps } from './upload-outcome.ts';
import type { Upload } from './upload-record.ts';
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

export interface UploadDeps {
  vaults: VaultStore;
  uploads: UploadStore;
  staging: StagingStore;
  dispersal: DispersalQueue;
  clock: Clock;
  /** Presigned uploads, where the deployment offers them. */
  multipart?: MultipartStaging;
  /** Revisions, where a look at a `pending` upload follows its revision (upload-outcome.ts). */
  revisions?: PendingUploadDeps['revisions'];
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

/**
 * The upload `uploadId` of `vault`; with `writer` (the caller's root key id), only one that key
 * opened: another's answers as none, as a dispersal of another's does.
 */
async function openUpload(
  deps: UploadDeps,
  vault: string,
  uploadId: string,
  writer?: string,
): Promise<Upload> {
  const upload = await deps.uploads.get(uploadId);
  if (!upload || upload.vault !== vault) throw new UploadNotFoundError(uploadId);
  if (writer !== undefined && upload.writer !== undefined && upload.writer !== writer)
    throw new UploadNotFoundError(uploadId);
  return upload;
}

/** An upload as the API answers it: a dispersal in steps says how far it came, not its state. */
export type UploadView = Omit<Upload, 'progress' | 'requeued' | 'followUp'> & {
  /** Bytes dispersed so far, while a dispersal in steps goes on. */
  dispersed?: number;
};

export async function getUpload(
  deps: UploadDeps,
  vault: string,
  uploadId: string,
  writer?: string,
): Promise<UploadView> {
  const opened = await openUpload(deps, vault, uploadId, writer);
  const { revisions } = deps;
  const {
    progress,
    requeued: _requeued,
    followUp: _followUp,
    ...upload
  } = opened.state === 'pending' && revisions
    ? await followPendingUpload({ ...deps, revisions }, opened)
    : opened;
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
  writer?: string,
): Promise<Upload> {
  const upload = await openUpload(deps, vault, uploadId, writer);
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
  writer?: string,
): Promise<void> {
  parseWith(partNumberSchema, part, { name: 'part' });
  const upload = await openUpload(deps, vault, uploadId, writer);
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
  writer?: string,
): Promise<Upload> {
  const upload = await openUpload(deps, vault, uploadId, writer);
  if (upload.state === 'open') {
    if (!(await deps.uploads.transition(uploadId, ['open'], { state: 'dispersing' })))
      return openUpload(deps, vault, uploadId, writer);
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

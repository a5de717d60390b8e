/**
 * A vault as one end of a replication, through the store's surface: listings from the object
 * index, ranged reads through the reader (streamed segment by segment), whole writes through
 * the writer, and multi-part writes as staged uploads (parts kept in the staging bucket, then
 * dispersed once complete), so a copy resumes by upload id like an S3 one.
 */
import type { Clock } from '../clock.ts';
import { ObjectNotFoundError, UploadNotFoundError, UploadStateError } from '../errors.ts';
import {
  abortUpload,
  completeUpload,
  createUpload,
  type DeleterDeps,
  deleteObject,
  getUpload,
  openObject,
  putPart,
  type ReaderDeps,
  type UploadDeps,
  type WriterDeps,
  writeObject,
} from '../store/index.ts';
import type { ObjectEntry, ObjectSide } from './ports.ts';
import { SourceChangedError } from './source-version.ts';
import { UploadGoneError } from './upload-gone.ts';

export interface VaultSideDeps {
  reader: ReaderDeps;
  writer: WriterDeps;
  uploads: UploadDeps;
  deleter?: DeleterDeps;
  clock: Clock;
  /** How long a write waits for its commit. */
  commitWaitMs: number;
  /** How long a multi-part write waits for the dispersal of its staged parts. */
  dispersalWaitMs: number;
}

/** Entries read per page of a listing. */
const LIST_PAGE = 1000;

/** Who staged uploads of replication count against (the quota of open uploads). */
const UPLOAD_CALLER = 'replication';

function entryOf(e: {
  key: string;
  size: number;
  committedAt: string;
  sha256: string;
  revision: string;
}): ObjectEntry {
  return {
    key: e.key,
    size: e.size,
    modifiedAt: Date.parse(e.committedAt),
    sha256: e.sha256,
    revision: e.revision,
  };
}

/** An upload's refusal as UploadGoneError when it says the upload is gone or over. */
function gone(what: string) {
  return (err: unknown): never => {
    if (err instanceof UploadNotFoundError || err instanceof UploadStateError)
      throw new UploadGoneError(what, (err as Error).message, { cause: err });
    throw err;
  };
}

export function vaultSide(deps: VaultSideDeps, vault: string): ObjectSide {
  return {
    async *list(prefix) {
      let cursor: string | undefined;
      do {
        const page = await deps.reader.index.list(vault, prefix, LIST_PAGE, cursor);
        for (const e of page.entries) yield entryOf(e);
        cursor = page.cursor;
      } while (cursor);
    },
    async head(key) {
      const e = await deps.reader.index.get(vault, key);
      return e ? entryOf(e) : undefined;
    },
    async *read(key, start, end, expect) {
      if (end <= start) return;
      const opened = await openObject(deps.reader, vault, key, `bytes=${start}-${end - 1}`);
      // The read is of the revision the index named when it opened: that one, or none.
      if (expect) {
        const { entry } = opened;
        const same = expect.revision
          ? entry.revision === expect.revision
          : entry.size === expect.size && Date.parse(entry.committedAt) === expect.modifiedAt;
        if (!same)
          throw new SourceChangedError(
            `${vault}/${key}`,
            expect,
            `revision ${entry.revision}, ${entry.size} bytes`,
          );
      }
      yield* opened.body;
    },
    async put(key, _size, body) {
      const outcome = await writeObject(deps.writer, vault, key, body, {
        waitMs: deps.commitWaitMs,
      });
      if (outcome.state !== 'committed')
        throw new Error(
          `the write of ${vault}/${key} ended ${outcome.state} (revision ${outcome.revision})`,
        );
    },
    async startParts(key) {
      return (await createUpload(deps.uploads, vault, { key }, UPLOAD_CALLER)).uploadId;
    },
    async putPart(key, uploadId, part, body) {
      await putPart(deps.uploads, vault, uploadId, part, body).catch(gone(`${vault}/${key}`));
      return String(body.length);
    },
    async finishParts(key, uploadId) {
      await completeUpload(deps.uploads, vault, uploadId).catch(gone(`${vault}/${key}`));
      // The disperser writes the staged parts into the vault; the copy is done once committed.
      const deadline = deps.clock.now() + deps.dispersalWaitMs;
      for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
        const upload = await getUpload(deps.uploads, vault, uploadId);
        if (upload.state === 'committed') return;
        // Its parts' dispersal failed: this upload can never commit; a new one can.
        if (upload.state === 'failed')
          throw new UploadGoneError(
            `${vault}/${key}`,
            `it ended failed: ${upload.reason ?? 'no reason given'}`,
          );
        if (deps.clock.now() > deadline)
          throw new Error(
            `the upload of ${vault}/${key} is still ${upload.state} after ${deps.dispersalWaitMs} ms`,
          );
        await deps.clock.sleep(delay);
      }
    },
    async abortParts(_key, uploadId) {
      await abortUpload(deps.uploads, vault, uploadId, UPLOAD_CALLER).catch((err: unknown) => {
        if (!(err instanceof UploadNotFoundError) && !(err instanceof UploadStateError)) throw err;
      });
    },
    async remove(key) {
      if (!deps.deleter) throw new Error('this worker has no delete path');
      // Gone already (a delete redone after its status was lost, or the key deleted meanwhile)
      // is what a delete wants, as S3's DeleteObject answers it.
      await deleteObject(deps.deleter, vault, key).catch((err: unknown) => {
        if (!(err instanceof ObjectNotFoundError)) throw err;
      });
    },
  };
}

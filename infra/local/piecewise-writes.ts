/**
 * File writes in pieces for fauxqs's S3 persistence. fauxqs writes each object, multipart part
 * and completed upload with one `writeFileSync`, which hands the kernel the whole buffer in one
 * write() call; Linux (6.x, ext4) then fills a new file with 2 MiB page-cache folios, and on this
 * project's CI machines allocating one cost 22-26 ms of kernel time, where the same bytes written
 * at most 1 MiB a call cost 0.4-0.7 ms (see the README, bench:dsn). A 256 MiB upload completed
 * in one write cost seconds.
 *
 * fauxqs imports `writeFileSync` from `node:fs` and offers no hook for its writes; for the
 * length of one of its synchronous persistence calls, `fs.writeFileSync` is a version that
 * writes a buffer `WRITE_PIECE` bytes at a time (the same bytes, the same file, the same errors;
 * see builtin-swap.ts).
 */
import fs from 'node:fs';
import { withBuiltinExport } from './builtin-swap.ts';
import { fauxqsModule } from './fauxqs-module.ts';
import { patchOnce } from './patch-once.ts';

/** The most one write() call copies (Node's own promise `writeFile` writes 512 KiB a call). */
export const WRITE_PIECE = 512 * 1024;

const wholeWrite = fs.writeFileSync;

/** `fs.writeFileSync`, writing a buffer of more than `WRITE_PIECE` bytes a piece at a time. */
export function writeFileInPiecesSync(
  file: fs.PathOrFileDescriptor,
  data: string | NodeJS.ArrayBufferView,
  options?: fs.WriteFileOptions,
): void {
  const opts = typeof options === 'object' && options !== null ? options : {};
  if (
    typeof file === 'number' ||
    typeof data === 'string' ||
    data.byteLength <= WRITE_PIECE ||
    opts.flush === true
  ) {
    wholeWrite(file, data, options);
    return;
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const fd = fs.openSync(file, opts.flag ?? 'w', opts.mode ?? 0o666);
  try {
    for (let at = 0; at < bytes.length; ) {
      at += fs.writeSync(fd, bytes, at, Math.min(WRITE_PIECE, bytes.length - at));
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs `f` (synchronous) with `fs.writeFileSync` writing in pieces, for ES modules too. */
export function withPiecewiseWrites<T>(f: () => T): T {
  if (fs.writeFileSync !== wholeWrite) return f();
  return withBuiltinExport(
    fs,
    'writeFileSync',
    writeFileInPiecesSync as typeof fs.writeFileSync,
    f,
  );
}

interface FilePersistence {
  upsertObject(...args: unknown[]): unknown;
  upsertMultipartPart(...args: unknown[]): unknown;
}

/** fauxqs's file persistence writes objects and multipart parts in pieces. */
export async function writeS3FilesInPieces(): Promise<void> {
  const { FileS3Persistence } = (await fauxqsModule('./s3/fileS3Persistence.js')) as {
    FileS3Persistence: { prototype: FilePersistence };
  };
  // A completed upload is written by upsertObject too.
  patchOnce(
    FileS3Persistence.prototype,
    'piecewise-writes',
    ['upsertObject', 'upsertMultipartPart'],
    (original) =>
      function (this: FilePersistence, ...args: unknown[]) {
        return withPiecewiseWrites(() => original.apply(this, args));
      },
  );
}

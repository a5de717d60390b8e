/**
 * A ranged GET reads its range, not the whole object. fauxqs keeps a stored object's body on
 * disk and reads all of it (`readFileSync`) for every GET, then sends the range asked for. A
 * client that reads a large object by ranges therefore reads the whole object once per range:
 * `aws s3 cp` downloads in 8 MiB ranges, so a 256 MiB download reads 8 GiB, and a replication
 * copy of a large object reads its source a part at a time. S3 reads what the range names.
 *
 * So while a GET with a Range header is handled (an AsyncLocalStorage scope entered in front of
 * fauxqs's handler), the file persistence's on-demand body read returns a view of the file. Its
 * `length` is the file's size and its `subarray` reads only the bytes asked for. That is all
 * fauxqs's GetObject does with a body when it serves a range, or a part of a multipart object.
 * A GET without a Range header, and every other request, reads the body as fauxqs always has.
 *
 * Written here because fauxqs has no option for it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { fauxqsModule } from './fauxqs-module.ts';
import { interpose } from './interpose.ts';
import { patchOnce } from './patch-once.ts';
import { objectDataPath } from './s3-incoming.ts';

/** Set while a GET with a Range header is being handled. */
const rangedGet = new AsyncLocalStorage<true>();

/** What the views served (for tests): how many, and the bytes their reads took from disk. */
export const rangedReads = { views: 0, bytesRead: 0 };

/** Clamps an index as `Buffer.prototype.subarray` does (negative counts from the end). */
function clamp(index: number, length: number): number {
  const i = Math.trunc(index);
  if (Number.isNaN(i)) return 0;
  return i < 0 ? Math.max(length + i, 0) : Math.min(i, length);
}

/** A stored body on disk, read a range at a time: the part of a Buffer that GetObject uses. */
export class FileRange {
  readonly path: string;
  readonly length: number;

  constructor(path: string, length: number) {
    this.path = path;
    this.length = length;
  }

  /**
   * Bytes `start` to `end` (exclusive) of the file, read from disk now.
   * @throws Error when the file no longer has the size it had (the object was replaced in
   * between): the GET fails with a 500, which clients retry, and the retry reads the new one.
   */
  subarray(start = 0, end = this.length): Buffer {
    const from = clamp(start, this.length);
    const to = Math.max(from, clamp(end, this.length));
    const out = Buffer.allocUnsafe(to - from);
    const fd = openSync(this.path, 'r');
    try {
      if (fstatSync(fd).size !== this.length)
        throw new Error(`${this.path} changed size while a range of it was read`);
      let done = 0;
      while (done < out.length) {
        const n = readSync(fd, out, done, out.length - done, from + done);
        if (n === 0) throw new Error(`${this.path} ended before its size while a range was read`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    rangedReads.bytesRead += out.length;
    return out;
  }
}

interface Persistence {
  bucketsDir: string;
  readBody(bucket: string, key: string): Buffer;
}

/** fauxqs's file persistence answers a ranged GET's body read with a FileRange (once per process). */
export async function readRangesOnly(): Promise<void> {
  const { FileS3Persistence } = (await fauxqsModule('./s3/fileS3Persistence.js')) as {
    FileS3Persistence: { prototype: Persistence };
  };
  patchOnce(
    FileS3Persistence.prototype,
    'ranged-reads',
    ['readBody'],
    (original) =>
      function (this: Persistence, bucket: string, key: string) {
        if (!rangedGet.getStore()) return original.call(this, bucket, key);
        const path = objectDataPath(this.bucketsDir, bucket, key);
        rangedReads.views++;
        return new FileRange(path, statSync(path).size) as unknown as Buffer;
      },
  );
}

/** Marks the ranged GETs the S3 server handles, for readRangesOnly. */
export function scopeRangedGets(server: Server): void {
  interpose(server, (req, res, pass) => {
    if (req.method === 'GET' && req.headers.range !== undefined)
      rangedGet.run(true, () => pass(req, res));
    else pass(req, res);
  });
}

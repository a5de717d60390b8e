/**
 * PutObject bodies reach the disk off the event loop. fauxqs writes an object's body with
 * `writeFileSync` inside its synchronous handler, on the one thread that serves S3, SQS, SNS and
 * DynamoDB, so the six slices of a PUT were copied to disk one after another while everything
 * else waited. Here a PutObject body, once read (s3-body-pool.ts), is first written to
 * `<s3Dir>/incoming/<uuid>` on libuv's thread pool; then fauxqs's handler runs as before, and
 * where its file persistence would write the body it renames the landed file into place.
 * Concurrent PUTs' bodies are copied side by side, as S3 stores objects, and the loop keeps
 * its own work (MD5, metadata, the answer). The copy goes in pieces (`WRITE_PIECE`), which is
 * most of what this saves on some machines.
 *
 * Nothing about when an object appears changes: it is in fauxqs's memory and its metadata file
 * when the handler runs, as before; until then its bytes sit under a name nothing lists. The
 * rename also makes replacing a body atomic, where a rewrite in place was not.
 *
 * A body that no handler takes (refused: BadDigest, NoSuchBucket; or its client left) is removed
 * when its response closes. If that happens before the handler runs, the handler writes the body
 * itself, as fauxqs does. A landed file left by a crash belongs to a PUT that was never answered;
 * crash recovery removes them all (s3-recovery.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import { join, sep } from 'node:path';
import { fauxqsModule } from './fauxqs-module.ts';
import { patchOnce } from './patch-once.ts';
import { WRITE_PIECE, writeFileInPiecesSync } from './piecewise-writes.ts';

/** The folder, under the S3 store's, where bodies land before their handler runs. */
export const INCOMING = 'incoming';

interface Landed {
  path: string;
  /** Renamed into an object by the handler. */
  taken: boolean;
  /** Removed (its response closed first): the handler writes the body itself. */
  removed: boolean;
}

const landed = new WeakMap<Uint8Array, Landed>();

/** Bodies landed, taken by their handler, and removed untaken, since the process started. */
export const landings = { landed: 0, taken: 0, removed: 0 };
const incomingOf = new WeakMap<object, string>();

/** Writes `body` to a new file at `path`, at most `WRITE_PIECE` bytes a call (see there why). */
async function writeInPieces(path: string, body: Uint8Array): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (let at = 0; at < body.length; ) {
      const { bytesWritten } = await file.write(body, at, Math.min(WRITE_PIECE, body.length - at));
      at += bytesWritten;
    }
  } finally {
    await file.close();
  }
}

/** Bodies of PUTs to `server` (fauxqs's) land in `<s3Dir>/incoming`. */
export function landBodiesOf(server: Server, s3Dir: string): void {
  const dir = join(s3Dir, INCOMING);
  mkdirSync(dir, { recursive: true });
  incomingOf.set(server, dir);
}

/**
 * Writes `body`, the whole body of the PutObject `req`, to its server's incoming folder. Returns
 * what to run when the response closes (removing a body no handler took), or undefined when this
 * server lands nothing or the write failed (the handler then writes the body, as fauxqs does).
 */
export async function land(req: IncomingMessage, body: Buffer): Promise<(() => void) | undefined> {
  const server = (req.socket as { server?: object } | null)?.server;
  const dir = server && incomingOf.get(server);
  // An aws-chunked body is decoded into another buffer before it is stored: fauxqs writes that.
  if (!dir || String(req.headers['content-encoding'] ?? '').includes('aws-chunked'))
    return undefined;
  const entry: Landed = { path: join(dir, randomUUID()), taken: false, removed: false };
  try {
    await writeInPieces(entry.path, body);
  } catch {
    await rm(entry.path, { force: true }).catch(() => {});
    return undefined;
  }
  landed.set(body, entry);
  landings.landed++;
  return () => {
    if (entry.taken || entry.removed) return;
    entry.removed = true;
    landings.removed++;
    rm(entry.path, { force: true }).catch(() => {});
  };
}

/**
 * fauxqs's file name for `key` (its `encodeKeyToPath`, which it does not export): characters
 * unsafe on common file systems percent-encoded, `/` a folder. A test PUTs keys with each such
 * character through this path and reads them back through fauxqs's own.
 */
export function objectFileStem(key: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: fauxqs encodes control characters.
  const encoded = key.replace(/[<>:"|?*\\%\x00-\x1f]/g, (ch) => {
    return `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return encoded.split('/').join(sep);
}

/** Where fauxqs's file persistence (its folder `bucketsDir`) keeps the body of `bucket`/`key`. */
export function objectDataPath(bucketsDir: string, bucket: string, key: string): string {
  return join(bucketsDir, bucket, 'objects', `${objectFileStem(key)}.data`);
}

interface Persistence {
  bucketsDir: string;
  upsertObject(bucket: string, obj: { key: string; body: Uint8Array }): void;
}

const EMPTY = Buffer.alloc(0);

/** fauxqs's file persistence renames a landed body into place instead of writing it. */
export async function renameLandedBodies(): Promise<void> {
  const { FileS3Persistence } = (await fauxqsModule('./s3/fileS3Persistence.js')) as {
    FileS3Persistence: { prototype: Persistence };
  };
  patchOnce(
    FileS3Persistence.prototype,
    'landed-bodies-renamed',
    ['upsertObject'],
    (original) =>
      function (this: Persistence, bucket, obj) {
        const entry = landed.get(obj.body);
        if (!entry || entry.taken || entry.removed) return original.call(this, bucket, obj);
        entry.taken = true;
        landings.taken++;
        // fauxqs writes the (empty) body, then the metadata; the rename then puts the bytes under
        // it. Killed in between, recovery finds metadata whose body has another size, and removes
        // the object, as it does any torn PUT: the request was never answered.
        original.call(this, bucket, { ...obj, body: EMPTY });
        const data = objectDataPath(this.bucketsDir, bucket, obj.key);
        try {
          renameSync(entry.path, data);
        } catch {
          // Gone from under it (someone emptied the folder): the body is still in memory.
          writeFileInPiecesSync(data, obj.body);
        }
      },
  );
}

/**
 * Crash recovery for the local S3 store, run before fauxqs loads it.
 *
 * fauxqs persists an object as two files, `<key>.data` then `<key>.meta.json`, with two
 * separate writes, and deletes it by unlinking them in the same order. It loads only what a
 * `.meta.json` describes. A local cloud killed between the two writes (the crash test does it
 * with SIGKILL mid-PUT) leaves a `.data` that S3 no longer lists, so nothing can delete it
 * through the API; killed between the two unlinks, it leaves a `.meta.json` whose body is gone,
 * which S3 would list and then fail to read.
 *
 * Real S3 applies a PUT or a DELETE whole or not at all, and an unanswered request may land
 * either way. So recovery finishes each half-done operation one way:
 * - a `.data` with no `.meta.json`: a PUT that never completed (or a DELETE that did most of
 *   its work). It is removed: the request was never answered, so no one was told it exists.
 * - a `.meta.json` that does not parse, whose `.data` is missing, or whose `.data` has another
 *   size than it records: the body it describes is not there. Both files are removed.
 * - a body in `incoming/`, written ahead of its PutObject's handler (s3-incoming.ts): that PUT
 *   was never answered either. Removed.
 *
 * Where this departs from S3: an overwrite written in place (fauxqs's own write; a body of
 * 64 KiB or more lands first and is renamed in whole) and killed between its two writes leaves the new body
 * under the old metadata. With another size, recovery removes both, so the key is gone where S3
 * would still hold one version or the other; with the same size it goes unseen, the old checksum
 * describing new bytes, which a slice read catches by its CRC and the rebuilder rewrites, as any
 * bit rot. (fauxqs has no hook for making its writes atomic. Here only the rebuilder overwrites
 * slices, with the same bytes, and a unit replaces a slice only when other bytes hold its name.)
 *
 * Recovery must not run beside a live emulator on the same folder: the local cloud holds the
 * data folder's lock (infra/local/data-lock.ts) before it starts any.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { INCOMING } from './s3-incoming.ts';

export interface S3RecoveryReport {
  /** Bodies without metadata, removed. */
  strayBodies: string[];
  /** Metadata without a body that matches it, removed with whatever body there was. */
  tornObjects: string[];
}

const DATA = '.data';
const META = '.meta.json';

/**
 * Repairs `<s3Dir>/buckets/<bucket>/objects`; paths in the report are relative to `s3Dir`.
 * Synchronous, like fauxqs's own load that follows it: nothing is served yet, and one call per
 * file without a promise each keeps start-up quick on a store of many thousand objects.
 */
export function recoverS3Store(s3Dir: string): S3RecoveryReport {
  const report: S3RecoveryReport = { strayBodies: [], tornObjects: [] };
  // Bodies written ahead of their PutObject's handler (s3-incoming.ts): none was answered.
  const incoming = join(s3Dir, INCOMING);
  if (existsSync(incoming)) {
    for (const file of readdirSync(incoming)) {
      rmSync(join(incoming, file), { force: true, recursive: true });
      report.strayBodies.push(join(INCOMING, file));
    }
  }
  const bucketsDir = join(s3Dir, 'buckets');
  const buckets = existsSync(bucketsDir) ? readdirSync(bucketsDir) : [];
  for (const bucket of buckets) {
    const objectsDir = join(bucketsDir, bucket, 'objects');
    if (!existsSync(objectsDir)) continue;
    // Files only: a key such as `x.data/y` makes a folder named like an object file.
    const files = readdirSync(objectsDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(objectsDir, join(e.parentPath, e.name)));
    const present = new Set(files);
    for (const file of files) {
      if (file.endsWith(DATA)) {
        if (present.has(`${file.slice(0, -DATA.length)}${META}`)) continue;
        rmSync(join(objectsDir, file), { force: true });
        removeEmptyParents(join(objectsDir, file), objectsDir);
        report.strayBodies.push(join('buckets', bucket, 'objects', file));
      } else if (file.endsWith(META)) {
        const stem = file.slice(0, -META.length);
        if (describesItsBody(join(objectsDir, file), join(objectsDir, `${stem}${DATA}`))) continue;
        rmSync(join(objectsDir, `${stem}${DATA}`), { force: true });
        rmSync(join(objectsDir, file), { force: true });
        removeEmptyParents(join(objectsDir, file), objectsDir);
        report.tornObjects.push(join('buckets', bucket, 'objects', stem));
      }
    }
  }
  return report;
}

/**
 * Whether a metadata file parses and its body is there with the length it records: an object
 * that recovery keeps (and that S3 lists after a restart).
 */
export function describesItsBody(metaPath: string, dataPath: string): boolean {
  let length: unknown;
  try {
    length = (JSON.parse(readFileSync(metaPath, 'utf8')) as { contentLength?: unknown })
      .contentLength;
  } catch {
    return false;
  }
  // fauxqs writes a body file for every object, empty ones included.
  return statSync(dataPath, { throwIfNoEntry: false })?.size === length;
}

/** Removes the now empty directories between `path` and `stopAt`, as fauxqs's delete does. */
function removeEmptyParents(path: string, stopAt: string): void {
  for (let dir = dirname(path); dir !== stopAt && dir.startsWith(stopAt); dir = dirname(dir)) {
    try {
      rmdirSync(dir); // refuses a directory that is not empty
    } catch {
      return;
    }
  }
}

/**
 * A standing job's task ends with the destination's key holding what the source's key holds.
 *
 * A vault with a continuous rule sends a task per commit and per delete of a key, and those
 * tasks land in any order: SQS delivers at least once and in any order, a failed task is sent
 * again later, and two batches of one worker overlap. A copy of an older revision that lands
 * after the newer one's copy (or a delete after a later write's copy) would leave the
 * destination behind for good, with every task reported done. So before a standing task
 * reports done, it looks at both ends once more; when the destination does not hold the
 * source's current version it copies that version (or removes the key the source no longer
 * has) and looks again. Every landing is followed by such a look, so the last landing of a key
 * is of the source as it was after its last change.
 *
 * The destination says which version it holds by the revision a copy writes with it
 * (`sourceRevision`, an object's metadata on a bucket) or, vault to vault, by its SHA-256.
 */
import { collect } from './collect.ts';
import type { ObjectEntry, ObjectSide } from './ports.ts';
import { sameObject } from './same-object.ts';
import { SourceChangedError } from './source-version.ts';
import { partCount, partSizeFor } from './task.ts';

/** Looks (and fixes) at most this many times: a key rewritten faster than it copies fails. */
export const SETTLE_ROUNDS = 5;

export interface SettleEnds {
  source: ObjectSide;
  destination: ObjectSide;
  sourceKey: string;
  destinationKey: string;
  /** The job's part size: a larger object goes in parts. */
  partSize: number;
  /** Whether the invocation has time left for another part (its deadline less a margin). */
  hasTime: () => boolean;
}

/** The settle could not finish before the invocation's deadline; the task is retried. */
export class SettleTimeError extends Error {
  override name = 'SettleTimeError';
}

const sameVersion = (a: ObjectEntry | undefined, b: ObjectEntry | undefined) =>
  a !== undefined &&
  b !== undefined &&
  a.size === b.size &&
  a.modifiedAt === b.modifiedAt &&
  a.revision === b.revision;

/** Whether the destination's object is the source's version `now`. */
export function holds(now: ObjectEntry, there: ObjectEntry | undefined): boolean {
  if (!there) return false;
  if (now.revision && there.sourceRevision) return now.revision === there.sourceRevision;
  return sameObject(now, there);
}

/** Copies the source's version `now` whole (in parts past the part size), uncheckpointed. */
async function copyVersion(e: SettleEnds, now: ObjectEntry): Promise<void> {
  const version = {
    size: now.size,
    modifiedAt: now.modifiedAt,
    ...(now.revision ? { revision: now.revision } : {}),
  };
  const meta = now.revision ? { revision: now.revision } : {};
  const parts = partCount(now.size, e.partSize);
  if (parts === 0) {
    await e.destination.put(
      e.destinationKey,
      now.size,
      e.source.read(e.sourceKey, 0, now.size, version),
      meta,
    );
    return;
  }
  const partSize = partSizeFor(e.partSize, now.size);
  const uploadId = await e.destination.startParts(e.destinationKey, meta);
  try {
    const etags: string[] = [];
    for (let p = 1; p <= parts; p++) {
      if (!e.hasTime())
        throw new SettleTimeError(
          `${e.sourceKey}: no time left to copy part ${p} of ${parts} of its current version`,
        );
      const start = (p - 1) * partSize;
      const end = Math.min(now.size, p * partSize);
      const bytes = await collect(e.source.read(e.sourceKey, start, end, version), end - start);
      etags.push(await e.destination.putPart(e.destinationKey, uploadId, p, bytes));
    }
    await e.destination.finishParts(e.destinationKey, uploadId, etags);
  } catch (err) {
    // Not left open at the destination (billed on S3, counted against the caller on a vault).
    await e.destination.abortParts(e.destinationKey, uploadId).catch(() => {});
    throw err;
  }
}

/**
 * Brings the destination's key to the source's, looking until both ends agree.
 * @returns how many writes or removes it took (0 when the destination held it already)
 * @throws Error when the source kept changing for SETTLE_ROUNDS looks
 */
export async function settleStanding(e: SettleEnds): Promise<number> {
  for (let round = 0; round < SETTLE_ROUNDS; round++) {
    if (!e.hasTime())
      throw new SettleTimeError(`${e.sourceKey}: no time left to bring its copy up to date`);
    const [now, there] = await Promise.all([
      e.source.head(e.sourceKey),
      e.destination.head(e.destinationKey),
    ]);
    if (!now) {
      if (!there) return round;
      await e.destination.remove(e.destinationKey);
      continue;
    }
    if (holds(now, there)) return round;
    try {
      await copyVersion(e, now);
    } catch (err) {
      if (err instanceof SettleTimeError) throw err;
      // Changed (or deleted) again while it was read: the next look finds what is there now.
      // Any other failure of a source that did not move is the copy's own, and goes up.
      if (err instanceof SourceChangedError) continue;
      if (sameVersion(now, await e.source.head(e.sourceKey))) throw err;
    }
  }
  throw new Error(
    `the source ${e.sourceKey} kept changing while its copy was brought up to date (${SETTLE_ROUNDS} looks)`,
  );
}

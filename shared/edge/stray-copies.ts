/**
 * Stray edge copies: slices on a group's edge units that no staging record names. Staging
 * copies a revision's slices first and records them last (a record must never name a slice
 * that is not there), so a planner stopped in between (a crash, a timeout) leaves copies nothing
 * counts against the budget and no eviction would ever remove. Reads never serve them (a read
 * takes only the recorded revision's copies); this sweep deletes them, once they are old enough
 * that no staging can still be placing them.
 */
import { parseSliceName } from '../codec/index.ts';
import { describeError } from '../describe-error.ts';
import type { Logger } from '../log.ts';
import type { SliceStore } from '../store/index.ts';
import type { EdgeGroup } from './group.ts';
import type { StagedObject } from './ports.ts';

/** A copy younger than this may belong to a staging under way: it is left for a later sweep. */
export const STRAY_AGE_MS = 60 * 60_000;
/** A group's edge units are listed for strays this often at most (a list per 1,000 slices). */
export const STRAY_SWEEP_MS = 60 * 60_000;
/** S3 DeleteObjects takes 1,000 keys. */
const DELETE_BATCH = 1000;

/**
 * Deletes the copies on `group`'s edge units that none of `staged` (the group's records) names
 * by revision and that are older than STRAY_AGE_MS at `now`. Keys that are no slice name under
 * the group's prefix are left alone: this sweep removes only what staging could have put there.
 * A unit that fails is logged and skipped until the next sweep; the planning goes on.
 * @returns how many it deleted
 */
export async function sweepStrayCopies(
  deps: { slices: Pick<SliceStore, 'list' | 'delete'>; log: Logger },
  group: Pick<EdgeGroup, 'name' | 'edgeUnits'>,
  staged: readonly StagedObject[],
  now: number,
): Promise<number> {
  const { slices } = deps;
  const recorded = new Set(staged.map((s) => `${s.vault}/${s.objectId}/${s.revision}`));
  const prefix = `edge/${group.name}/`;
  let deleted = 0;
  for (const unit of group.edgeUnits) {
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await slices.delete(unit, batch);
      deleted += batch.length;
      batch = [];
    };
    try {
      for await (const copy of slices.list(unit, prefix)) {
        if (copy.lastModified && now - copy.lastModified.getTime() < STRAY_AGE_MS) continue;
        let revision: string;
        try {
          const name = parseSliceName(copy.key.slice(prefix.length));
          revision = `${name.vault}/${name.objectId}/${name.revision}`;
        } catch {
          continue;
        }
        if (recorded.has(revision)) continue;
        batch.push(copy.key);
        if (batch.length === DELETE_BATCH) await flush();
      }
      await flush();
    } catch (err) {
      deps.log.warn('edge: stray copies not swept on a unit', {
        group: group.name,
        unit,
        error: describeError(err),
      });
    }
  }
  return deleted;
}

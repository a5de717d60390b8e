/**
 * The sweep of orphan function slices: slices left at units after their item was finished or
 * cancelled, because a unit failed the owner's delete (or a cancel's), and slices of an add cut
 * off between its slices and its record (a crash, a timeout). The worker's schedule runs it per
 * vault. A slice whose item has no record is left alone while its add may be under way (slices
 * are stored before the record); once older than ORPHAN_ADD_MS no record can come for it.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { SliceRef, WorkStore } from './ports.ts';
import { OPEN_STATES, type WorkState } from './work-item.ts';

/**
 * A slice with no record this old belongs to an add that will never record it: an add is one
 * API call (29 s at most), and its record follows its slices within it.
 */
export const ORPHAN_ADD_MS = 60 * 60_000;

const PAGE = 200;

/**
 * Deletes the slices at `units` of `vault`'s items that are done, failed or cancelled, and
 * those with no record stored over ORPHAN_ADD_MS ago; returns how many it deleted. A unit that
 * fails is skipped until the next sweep.
 */
export async function sweepSlices(
  deps: { store: WorkStore; log: Logger; clock: Clock },
  vault: string,
  units: readonly number[],
): Promise<number> {
  const states = new Map<number, WorkState | undefined>();
  const stateOf = async (seq: number) => {
    if (!states.has(seq)) states.set(seq, (await deps.store.get(vault, seq))?.state);
    return states.get(seq);
  };
  let dropped = 0;
  for (const unit of units) {
    try {
      let afterSeq: number | undefined;
      do {
        const page = await deps.store.listSlices(vault, unit, { afterSeq, limit: PAGE });
        const orphans: SliceRef[] = [];
        for (const seq of page.seqs) {
          const state = await stateOf(seq);
          if (state !== undefined && !OPEN_STATES.includes(state))
            orphans.push({ vault, seq, unit });
          else if (state === undefined) {
            // No record: an add under way, or one cut off; its age tells (unknown: kept).
            const { storedAt } = await deps.store.sliceState(vault, seq, unit);
            if (storedAt !== undefined && deps.clock.now() - storedAt >= ORPHAN_ADD_MS)
              orphans.push({ vault, seq, unit });
          }
        }
        if (orphans.length > 0) await deps.store.dropSlices(orphans);
        dropped += orphans.length;
        afterSeq = page.cursor;
      } while (afterSeq !== undefined);
    } catch (err) {
      deps.log.warn('work slice sweep skipped a unit', { vault, unit, error: String(err) });
    }
  }
  return dropped;
}

/**
 * The sweep of orphan function slices: slices left at units after their item was finished or
 * cancelled, because a unit failed the owner's delete (or a cancel's). The worker's schedule
 * runs it per vault. A slice whose item has no record is left alone: its add may be under way
 * (slices are stored before the record).
 */
import type { Logger } from '../log.ts';
import type { SliceRef, WorkStore } from './ports.ts';
import { OPEN_STATES, type WorkState } from './work-item.ts';

const PAGE = 200;

/**
 * Deletes the slices at `units` of `vault`'s items that are done, failed or cancelled; returns
 * how many it deleted. A unit that fails is skipped until the next sweep.
 */
export async function sweepSlices(
  deps: { store: WorkStore; log: Logger },
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

/**
 * The commit fence of a topology change. A vault's topology job moves the objects the index
 * holds onto the new units, and ends with a pass begun some time after the switch that found
 * nothing to move: it counts on every write begun under the old topology having committed by
 * then. The units' grace (SUPERSEDED_GRACE_MS) bounds when such a write may BEGIN; nothing
 * bounded when it COMMITS, and a dispersal may stay pending for hours (a client's uplink, a
 * staged upload dispersed in steps, a long streamed PUT). One that committed after the job
 * ended kept its pillars on the old units, among them the one a replace had drained: an object
 * degraded for good, its repairs sent back to a unit the operator believes empty.
 *
 * So a revision whose topology was superseded more than the grace ago commits no more: it is
 * failed with SUPERSEDED, and written again under the current topology (the staged dispersal
 * does so itself, from its staged bytes; a client opens a new dispersal). A commit that passes
 * the fence lands within the grace of the switch, before the job's last pass begins.
 */
import type { Vault } from './vault.ts';

/** A vault's current topology id and since when (epoch ms), with its layout when known. */
export type TopologyNow = {
  id?: string;
  since?: number;
  layout?: Layout;
};

/** Where a write's pillars go and how it is cut: what a topology change may move. */
type Layout = { units: readonly number[]; readThreshold: number; segmentSize: number };

const sameLayout = (a: Layout, b: Layout) =>
  a.units.join() === b.units.join() &&
  a.readThreshold === b.readThreshold &&
  a.segmentSize === b.segmentSize;

/**
 * A topology superseded this long ago (or longer) takes no new writes: writers read the vault
 * through a cache of at most a second, so one that began a write under the old topology within
 * this window finishes it, and later writes are refused (they must use the new topology). Nor
 * does it commit any more: past this, its writes are failed (the fence below).
 *
 * This file imports types only, so a client may import it for `isSuperseded`.
 */
export const SUPERSEDED_GRACE_MS = 5000;

/** How a revision failed by the fence begins its reason. */
export const SUPERSEDED = 'written under a superseded topology';

/** Whether `reason` is the fence's: the write may begin again under the current topology. */
export function isSuperseded(reason: string | undefined): boolean {
  return reason?.startsWith(SUPERSEDED) === true;
}

/**
 * Why `written` (a revision: the topology it was written under, its units) may no longer
 * commit, `now`, with the vault's current topology `current`; undefined while it may (the same
 * topology, no topology yet, or within the grace of the switch). A revision without a topology
 * id was begun before the vault recorded its genesis topology, which keeps the vault's layout:
 * it is superseded only once the vault's layout (units, k, segment size) is no longer its own.
 */
export function supersededWrite(
  written: { topology?: string } & Layout,
  current: TopologyNow,
  now: number,
): string | undefined {
  if (!writtenElsewhere(written, current)) return undefined;
  const since = current.since ?? 0;
  if (now <= since + SUPERSEDED_GRACE_MS) return undefined;
  return `${SUPERSEDED} (${written.topology ?? 'none'}); the vault moved to ${current.id} at ${new Date(since).toISOString()} and its data with it: write it again`;
}

/**
 * Whether `written` was written under another topology than `current` (a revision without an id,
 * begun before the genesis was recorded, counts as the genesis while the layout is the same).
 */
export function writtenElsewhere(written: { topology?: string } & Layout, current: TopologyNow) {
  if (current.id === undefined || current.id === written.topology) return false;
  return !(
    written.topology === undefined &&
    (current.layout === undefined || sameLayout(current.layout, written))
  );
}

/**
 * Why `written` may no longer commit, `now`, by its vault's current topology as `read` gives
 * it: a reason found on a view that may be a second old (`fresh` false) stands only once a
 * fresh read confirms it, since a stale view may not know the revision's own topology yet.
 */
export async function supersededNow(
  written: { vault: string; topology?: string } & Layout,
  read: (vault: string, fresh: boolean) => Promise<TopologyNow>,
  now: number,
): Promise<string | undefined> {
  if (!supersededWrite(written, await read(written.vault, false), now)) return undefined;
  return supersededWrite(written, await read(written.vault, true), now);
}

/** A vault store's `read` for `supersededNow`. */
export function topologyReader(vaults: {
  get(name: string, options?: { fresh?: boolean }): Promise<Vault>;
}): (vault: string, fresh: boolean) => Promise<TopologyNow> {
  return async (vault, fresh) => topologyOf(await vaults.get(vault, fresh ? { fresh } : undefined));
}

/** A vault record's current topology and since when. */
export function topologyOf(
  vault: Pick<Vault, 'topology' | 'topologySince' | 'units' | 'readThreshold' | 'segmentSize'>,
): TopologyNow {
  const { units, readThreshold, segmentSize } = vault;
  return {
    ...(vault.topology === undefined ? {} : { id: vault.topology }),
    ...(vault.topologySince === undefined ? {} : { since: vault.topologySince }),
    layout: { units, readThreshold, segmentSize },
  };
}

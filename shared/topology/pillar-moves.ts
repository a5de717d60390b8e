/**
 * What a topology job does to each object, and the replace's part of it: a re-stripe writes
 * every object again; a replace moves each pillar that is not where the vault's layout puts it
 * (copied, regenerated from k others when the old copy is missing or bad), points the manifest
 * at the new units in one relocation, then drops the old copies. A reader holding the old
 * manifest meanwhile finds the old copy or decodes from the other pillars, so no read fails.
 */
import {
  codecFor,
  decodeSlice,
  encodeSlice,
  formatSliceName,
  s3Crc32,
  segmentLength,
  sliceNamesOf,
} from '../codec/index.ts';
import { describeError } from '../describe-error.ts';
import type { Logger } from '../log.ts';
import type { Throttle } from '../repair/index.ts';
import type { IndexEntry, SliceStore, Vault, WriterDeps } from '../store/index.ts';
import type { ManifestStore } from './ports.ts';
import type { TopologyJob } from './topology-job.ts';

/** What moving pillars reads, writes and says. */
export interface PillarMoveDeps {
  slices: SliceStore;
  manifests: ManifestStore;
  throttle: Throttle;
  log: Logger;
}

/** A pillar of an object that a replace moves from one unit to another. */
export interface PillarMove {
  pillar: number;
  from: number;
  to: number;
}

/** The vault's layout a replace moves objects onto (pillar i on `units[i]`). */
export type Layout = Pick<Vault, 'units' | 'readThreshold' | 'segmentSize'>;

/**
 * The layout of the vault, for a replace, while the vault is on the job's topology (a newer
 * one's job moves everything onto its own layout): undefined otherwise, and then only the
 * job's own move is made.
 */
export async function layoutOf(
  deps: { writer: Pick<WriterDeps, 'vaults'> },
  job: TopologyJob,
): Promise<Layout | undefined> {
  if (job.kind !== 'replace') return undefined;
  const vault = await deps.writer.vaults.get(job.vault);
  return vault.topology === job.id ? vault : undefined;
}

/**
 * Whether `entry` still has to move, and how. A replace moves each pillar that is not where
 * the layout puts it: one, the job's own move, for an object written under the topology the
 * job moves off; more for one written under an older topology and indexed late, past the last
 * pass of an earlier replace (the commit fence's windows, store/commit-fence.ts), whose
 * pillar that replace did not move. One of another geometry (written before a re-stripe,
 * indexed past its last pass) is written again under the current one.
 */
export function workOf(
  job: TopologyJob,
  entry: IndexEntry,
  layout: Layout | undefined,
): PillarMove[] | 'rewrite' | undefined {
  if (job.kind === 'restripe') return entry.topology === job.id ? undefined : 'rewrite';
  if (layout) {
    if (
      entry.units.length !== layout.units.length ||
      entry.readThreshold !== layout.readThreshold ||
      entry.segmentSize !== layout.segmentSize
    )
      return 'rewrite';
    // Every pillar not in place moves, at once: a unit that holds another pillar of the object
    // now gives it up in the same relocation (the layout names each unit once), so none is
    // left on a unit the sweep empties.
    const moves = entry.units.flatMap((from, pillar) => {
      const to = layout.units[pillar] as number;
      return from === to ? [] : [{ pillar, from, to }];
    });
    return moves.length > 0 ? moves : undefined;
  }
  const move = job.move as { from: number; to: number };
  const pillar = entry.units.indexOf(move.from);
  if (pillar < 0 || entry.units.includes(move.to)) return undefined;
  return [{ pillar, ...move }];
}

/**
 * Copies each moved pillar of every segment to its new unit, repoints the manifest once for
 * all of them, then drops the old copies. `keepLease` is called after each slice placed: an
 * object larger than a lease's worth of throttled copying renews the job's lease as it goes,
 * and one whose lease was lost stops there (it throws). @returns the bytes copied.
 */
export async function movePillars(
  deps: PillarMoveDeps,
  entry: IndexEntry,
  moves: PillarMove[],
  keepLease: () => Promise<void> = async () => {},
): Promise<number> {
  let moved = 0;
  const name = sliceNamesOf(entry);
  const keys = new Map<PillarMove, string[]>(moves.map((m) => [m, []]));
  for (const move of moves) {
    const { from, to, pillar } = move;
    for (let s = 0; s < entry.segments; s++) {
      const key = formatSliceName(name(s, pillar));
      keys.get(move)?.push(key);
      let bytes: Uint8Array | undefined;
      try {
        const got = await deps.slices.get(from, key);
        decodeSlice(got, key);
        bytes = got;
      } catch {
        bytes = await regenerate(deps, entry, s, pillar);
      }
      await deps.throttle.take(bytes.length * 2);
      await deps.slices.put(to, key, bytes, s3Crc32(bytes));
      moved += bytes.length;
      await keepLease();
    }
  }
  const units = entry.units.map((u, i) => moves.find((m) => m.pillar === i)?.to ?? u);
  const relocated = await deps.manifests.relocate(entry, units);
  if (relocated === 'stale') {
    // Another relocation came between (a newer topology's job moved it elsewhere): the copies
    // just placed are nobody's, and go; the next pass finds the object where it is now.
    deps.log.info('topology job: object relocated by another job meanwhile', { key: entry.key });
    for (const [{ to }, placed] of keys)
      await deps.slices.delete(to, placed).catch((err: unknown) =>
        deps.log.warn('topology job: copies of a stale move not deleted', {
          unit: to,
          key: entry.key,
          error: describeError(err),
        }),
      );
    return moved;
  }
  if (!relocated) {
    // A newer revision or a delete took the key: the old one is the janitor's now.
    deps.log.info('topology job: object changed while moving', { key: entry.key });
    return moved;
  }
  // An old unit may be the lost one being replaced: its copies then go with it.
  for (const [{ from }, old] of keys)
    await deps.slices.delete(from, old).catch((err: unknown) =>
      deps.log.warn('topology job: old copies not deleted', {
        unit: from,
        key: entry.key,
        error: describeError(err),
      }),
    );
  return moved;
}

/** A pillar's slice of one segment, rebuilt from k good slices of the others. */
async function regenerate(
  deps: Pick<PillarMoveDeps, 'slices' | 'log'>,
  entry: IndexEntry,
  segment: number,
  pillar: number,
): Promise<Uint8Array> {
  const n = entry.units.length;
  const k = entry.readThreshold;
  const name = sliceNamesOf(entry);
  const shards: Array<Uint8Array | null> = Array(n).fill(null);
  let good = 0;
  for (let p = 0; p < n && good < k; p++) {
    if (p === pillar) continue;
    const key = formatSliceName(name(segment, p));
    try {
      shards[p] = decodeSlice(await deps.slices.get(entry.units[p] as number, key), key).payload;
      good++;
    } catch (err) {
      deps.log.warn('topology job: a slice could not be read', { key, error: describeError(err) });
    }
  }
  const length = segmentLength(entry.size, entry.segmentSize, segment);
  if (length === 0) shards.fill(new Uint8Array(0));
  else codecFor(k, n - k).reconstruct(shards);
  return encodeSlice(
    { name: name(segment, pillar), dataShards: k, parityShards: n - k, segmentLength: length },
    shards[pillar] as Uint8Array,
  );
}

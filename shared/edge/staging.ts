/**
 * Staging and unstaging. A slice is copied as it is, from a home unit to an edge unit, after
 * the same checks a read makes (header, payload checksum, layout), and stored with its S3
 * checksum so the edge unit verifies it on arrival, under its revision's slice name. An
 * overwrite or a delete unstages the old revision's copies (`invalidate`, run by the
 * committer's associated task and by the delete's event); a read checks the revision anyway,
 * so a copy left behind by a crash is never served, and a planning run removes it once it is
 * an hour old (stray-copies.ts).
 */
import type { Clock } from '../clock.ts';
import {
  checkSliceLayout,
  decodeSlice,
  formatSliceName,
  s3Crc32,
  segmentLength,
  shardSize,
  sliceHeaderLength,
  sliceNamesOf,
} from '../codec/index.ts';
import type { Logger } from '../log.ts';
import type { IndexEntry, ObjectIndex, SliceStore } from '../store/index.ts';
import type { EdgeGroup } from './group.ts';
import type { EdgeStore, StagedObject } from './ports.ts';
import { edgeKey, edgeUnitFor, stagedKeysByUnit } from './staged-object.ts';

export interface StagingDeps {
  edge: EdgeStore;
  index: ObjectIndex;
  /** The whole pool: home units and edge units alike. */
  slices: SliceStore;
  clock: Clock;
  log: Logger;
}

/** Slice bytes staging `entry` takes: `k` slices of every segment, headers included. */
export function stagedBytesOf(entry: IndexEntry): number {
  const named = sliceNamesOf(entry);
  let bytes = 0;
  for (let s = 0; s < entry.segments; s++) {
    const shard = shardSize(segmentLength(entry.size, entry.segmentSize, s), entry.readThreshold);
    bytes += entry.readThreshold * (sliceHeaderLength(named(s, 0)) + shard);
  }
  return bytes;
}

/**
 * Why `entry` cannot be staged for a group of `units` edge units without one of them holding
 * `k` slices of a segment, or undefined when it can.
 */
export function unstageableReason(entry: IndexEntry, units: number): string | undefined {
  if (units > 1 && entry.readThreshold === 1)
    return 'k = 1: any one slice is the whole segment, so one edge unit would hold it alone';
  return undefined;
}

/**
 * Copies `k` verified slices of every segment of `entry` to the group's edge units, data pillars
 * first (a read then needs no decoding), and records the staging. Idempotent: a rerun writes
 * the same bytes under the same keys. Undefined when a segment has fewer than `k` good slices
 * on its home units or an edge unit refuses a copy (nothing is recorded; what was copied goes).
 */
export async function stageObject(
  deps: StagingDeps,
  group: EdgeGroup,
  entry: IndexEntry,
  score: number,
): Promise<StagedObject | undefined> {
  const k = entry.readThreshold;
  const n = entry.units.length;
  const named = sliceNamesOf(entry);
  const placed: Array<Array<[number, number]>> = [];
  let bytes = 0;
  const copies = (): StagedObject => ({
    group: group.name,
    vault: entry.vault,
    key: entry.key,
    revision: entry.revision,
    objectId: entry.objectId,
    slices: placed,
    bytes,
    score,
    stagedAt: deps.clock.date().toISOString(),
  });
  /** Nothing is recorded: what was copied goes, so no edge slice is left uncounted. */
  const abandon = async (why: string) => {
    deps.log.warn('object not staged', { vault: entry.vault, key: entry.key, why });
    await removeCopies(deps, copies()).catch((err) =>
      deps.log.error('copies of an abandoned staging not removed', err, { key: entry.key }),
    );
    return undefined;
  };
  for (let s = 0; s < entry.segments; s++) {
    const layout = {
      dataShards: k,
      width: n,
      segmentLength: segmentLength(entry.size, entry.segmentSize, s),
    };
    const pairs: Array<[number, number]> = [];
    placed.push(pairs);
    for (let pillar = 0; pillar < n && pairs.length < k; pillar++) {
      const name = named(s, pillar);
      const text = formatSliceName(name);
      let slice: Uint8Array;
      try {
        slice = await deps.slices.get(entry.units[pillar] as number, text);
        const { header } = decodeSlice(slice, text);
        checkSliceLayout(header, layout, text);
      } catch (err) {
        deps.log.warn('slice not staged: home copy unreadable', {
          slice: text,
          error: (err as Error).message,
        });
        continue;
      }
      const unit = edgeUnitFor(group.edgeUnits, s, pairs.length);
      // Counted before the PUT: one that fails may still have stored the bytes.
      pairs.push([pillar, unit]);
      try {
        await deps.slices.put(unit, edgeKey(group.name, name), slice, s3Crc32(slice));
      } catch (err) {
        return abandon(`edge unit ${unit} refused a slice: ${(err as Error).message}`);
      }
      bytes += slice.byteLength;
    }
    if (pairs.length < k)
      return abandon(
        `segment ${s} has ${pairs.length} good slices on its home units, under k = ${k}`,
      );
  }
  const staged = copies();
  await deps.edge.putStaged(staged);
  return staged;
}

async function removeCopies(
  deps: Pick<StagingDeps, 'slices'>,
  staged: StagedObject,
): Promise<void> {
  await Promise.all(
    [...stagedKeysByUnit(staged)].map(([unit, keys]) => deps.slices.delete(unit, keys)),
  );
}

/** Deletes a staged object's edge slices, then its record. Idempotent. */
export async function unstage(
  deps: Pick<StagingDeps, 'slices' | 'edge'>,
  staged: StagedObject,
): Promise<void> {
  await removeCopies(deps, staged);
  await deps.edge.deleteStaged(staged.group, staged.vault, staged.key, staged.revision);
}

/**
 * Unstages, in every group, the copies of `vault/key` that are not of the revision the key now
 * points at (all of them after a delete). Idempotent, and safe in any order: it compares with
 * the index, not with the event that called it.
 */
export async function invalidate(
  deps: Pick<StagingDeps, 'slices' | 'edge' | 'index'>,
  vault: string,
  key: string,
): Promise<number> {
  const groups = await deps.edge.listGroups();
  // No group stages anything: nothing to compare, so the index is not read (every commit and
  // delete runs this).
  if (groups.length === 0) return 0;
  const current = await deps.index.get(vault, key);
  let removed = 0;
  for (const group of groups) {
    const staged = await deps.edge.getStaged(group.name, vault, key);
    if (staged && staged.revision !== current?.revision) {
      await unstage(deps, staged);
      removed++;
    }
  }
  return removed;
}

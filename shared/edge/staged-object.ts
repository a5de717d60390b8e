/**
 * A staged object: the slices of one revision that a group's edge units hold, as the planner's
 * partial download placed them. Per segment, `k` pillars go to the edge units in turn, so the
 * group's units together hold `k` slices of every segment (enough to read it) and, with two
 * edge units or more, no one of them holds `k` of a segment (none holds the content alone).
 */
import { formatSliceName, type SliceName } from '../codec/index.ts';
import type { EdgeSlices, SliceStore } from '../store/index.ts';
import type { StagedObject } from './ports.ts';

/** Where an edge unit keeps a group's copy of a slice: beside nothing of any vault's. */
export function edgeKey(group: string, name: SliceName): string {
  return `edge/${group}/${formatSliceName(name)}`;
}

/** The name of a staged slice. */
function nameOf(staged: StagedObject, segment: number, pillar: number): SliceName {
  return {
    vault: staged.vault,
    objectId: staged.objectId,
    revision: staged.revision,
    segment,
    pillar,
  };
}

/**
 * The edge unit the `j`th slice staged of `segment` goes to: the units take turns, starting one
 * further each segment, so load and bytes spread evenly.
 */
export function edgeUnitFor(edgeUnits: readonly number[], segment: number, j: number): number {
  return edgeUnits[(segment + j) % edgeUnits.length] as number;
}

/** Slices of a segment that one edge unit holds, at most, for `k` staged over `units` units. */
export function slicesPerUnit(k: number, units: number): number {
  return Math.ceil(k / units);
}

/** The staged slices as a read takes them (shared/store's `EdgeSlices`). */
export function edgeSlicesOf(staged: StagedObject, slices: Pick<SliceStore, 'get'>): EdgeSlices {
  const placements = staged.slices.map(
    (pairs, segment) =>
      new Map(
        pairs.map(([pillar, unit]) => [
          pillar,
          { unit, key: edgeKey(staged.group, nameOf(staged, segment, pillar)) },
        ]),
      ),
  );
  return {
    revision: staged.revision,
    slices,
    placement: (segment) => placements[segment],
    served: { edge: 0, home: 0 },
  };
}

/** Every staged slice by edge unit: what an eviction deletes. */
export function stagedKeysByUnit(staged: StagedObject): Map<number, string[]> {
  const byUnit = new Map<number, string[]>();
  staged.slices.forEach((pairs, segment) => {
    for (const [pillar, unit] of pairs) {
      const keys = byUnit.get(unit) ?? [];
      keys.push(edgeKey(staged.group, nameOf(staged, segment, pillar)));
      byUnit.set(unit, keys);
    }
  });
  return byUnit;
}

/** `hit` (every segment from edge slices), `partial`, or `miss`: the `x-dsn-edge` header. */
export function edgeOutcome(served: { edge: number; home: number } | undefined): string {
  if (!served || served.edge === 0) return 'miss';
  return served.home === 0 ? 'hit' : 'partial';
}

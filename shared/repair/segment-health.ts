/**
 * Segment health: what each pillar of one committed segment looks like in its unit's bucket.
 * Every slice is fetched and checked (header, checksums, name, lengths), because bit rot does
 * not show in a listing: S3 keeps the checksum of the bytes it was given, not of what its disks
 * hold now. Explain reports it; the rebuilder repairs from it.
 */

import {
  checkSliceLayout,
  decodeSlice,
  formatSliceName,
  segmentLength,
  sliceNamesOf,
} from '../codec/index.ts';
import { InvalidSliceError, SliceNotFoundError } from '../errors.ts';
import type { IndexEntry, SliceStore } from '../store/index.ts';

/** `missing`: no object; `corrupt`/`truncated`/`foreign`/`version`: bad bytes; `unreadable`: the unit errs. */
export type PillarDefect =
  | 'missing'
  | 'corrupt'
  | 'truncated'
  | 'foreign'
  | 'version'
  | 'unreadable';

export interface PillarHealth {
  pillar: number;
  unit: number;
  /** Slice name, also its key in the unit's bucket. */
  key: string;
  present: boolean;
  checksumValid: boolean;
  /** The slice is the one the manifest names: this revision, segment, pillar and length. */
  revisionMatch: boolean;
  defect?: PillarDefect;
  detail?: string;
  /** The checked payload, when `keepPayloads` asked for it and the slice is good. */
  payload?: Uint8Array;
  /** Bytes fetched from the unit. */
  bytes: number;
}

export type Verdict = 'healthy' | 'degraded' | 'lost';

export interface SegmentHealth {
  segment: number;
  /** True bytes of the segment. */
  length: number;
  good: number;
  verdict: Verdict;
  pillars: PillarHealth[];
}

/** healthy: all n good; degraded: at least k; lost: fewer than k, the segment cannot be read. */
export function verdictOf(good: number, width: number, readThreshold: number): Verdict {
  if (good >= width) return 'healthy';
  return good >= readThreshold ? 'degraded' : 'lost';
}

/** Fetches and checks every pillar of `segment` of the committed revision `entry` names. */
export async function inspectSegment(
  slices: SliceStore,
  entry: IndexEntry,
  segment: number,
  options: { keepPayloads?: boolean } = {},
): Promise<SegmentHealth> {
  const length = segmentLength(entry.size, entry.segmentSize, segment);
  const named = sliceNamesOf(entry);
  const pillars = await Promise.all(
    entry.units.map(async (unit, pillar): Promise<PillarHealth> => {
      const key = formatSliceName(named(segment, pillar));
      const base = { pillar, unit, key };
      let fetched: Uint8Array | undefined;
      try {
        fetched = await slices.get(unit, key);
        const { header, payload } = decodeSlice(fetched, key);
        checkSliceLayout(
          header,
          { dataShards: entry.readThreshold, width: entry.units.length, segmentLength: length },
          key,
        );
        return {
          ...base,
          present: true,
          checksumValid: true,
          revisionMatch: true,
          ...(options.keepPayloads ? { payload } : {}),
          bytes: fetched.length,
        };
      } catch (err) {
        // Bad bytes, found by the store (S3's stored checksum) or by the slice's own checks.
        if (err instanceof InvalidSliceError) {
          return {
            ...base,
            present: true,
            // A foreign slice (another name inside) may be intact; it is still not this pillar.
            checksumValid: err.defect === 'foreign',
            revisionMatch: false,
            defect: err.defect,
            detail: err.message,
            bytes: fetched?.length ?? 0,
          };
        }
        if (fetched) throw err;
        const missing = err instanceof SliceNotFoundError;
        return {
          ...base,
          present: false,
          checksumValid: false,
          revisionMatch: false,
          defect: missing ? 'missing' : 'unreadable',
          detail: missing ? 'no slice object' : `${(err as Error).name}: ${(err as Error).message}`,
          bytes: 0,
        };
      }
    }),
  );
  const good = pillars.filter((p) => p.defect === undefined).length;
  return {
    segment,
    length,
    good,
    verdict: verdictOf(good, entry.units.length, entry.readThreshold),
    pillars,
  };
}

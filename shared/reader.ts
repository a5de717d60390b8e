/**
 * Reads: the index gives the committed manifest; each segment is rebuilt from k of its slices,
 * data pillars first (so no decoding is needed when they are all good). A slice that is missing,
 * fails its checks or errors is the cue to fetch another pillar, and so is a slow one: after a
 * latency budget one more pillar is asked (a hedge). Damage met is recorded for repair. Range
 * reads touch only their segments, and the body streams one segment ahead at most.
 */
import { codecFor } from './codecs.ts';
import {
  InvalidParameterError,
  InvalidSliceError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  SegmentLostError,
  SliceNotFoundError,
} from './errors.ts';
import type { IndexEntry, ObjectIndex, RepairLog, SliceDamage, SliceStore } from './ports.ts';
import { segmentLength, segmentParts } from './segment.ts';
import { decodeSlice } from './slice-header.ts';
import { formatSliceName } from './slice-name.ts';

/** Segments read ahead of the one a body is sending. */
const READ_AHEAD = 2;

export interface ReaderDeps {
  index: ObjectIndex;
  slices: SliceStore;
  repair: RepairLog;
  /** Wait this long for a slice before asking one more pillar. */
  hedgeMs: number;
}

export interface ByteRange {
  start: number;
  /** Exclusive. */
  end: number;
}

/**
 * Parses a single `Range: bytes=` header against an object of `size` bytes.
 * @throws RangeNotSatisfiableError, InvalidParameterError for a malformed header.
 */
export function parseRange(header: string, size: number): ByteRange {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) {
    throw new InvalidParameterError(
      'Range',
      `must be one range "bytes=start-end", got "${header}"`,
    );
  }
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  }
  if (start >= size || start >= end) throw new RangeNotSatisfiableError(header, size);
  return { start, end };
}

/**
 * Reads one segment from k good slices; returns its bytes (as views of the data shards, in
 * order, so a healthy segment is never copied) and the damage met.
 */
export async function readSegment(
  deps: Pick<ReaderDeps, 'slices' | 'hedgeMs'>,
  entry: IndexEntry,
  segment: number,
): Promise<{ parts: Uint8Array[]; damage: SliceDamage[] }> {
  const n = entry.units.length;
  const k = entry.readThreshold;
  const codec = codecFor(k, n - k);
  const length = segmentLength(entry.size, entry.segmentSize, segment);
  const payloads: Array<Uint8Array | null> = Array(n).fill(null);
  const damage: SliceDamage[] = [];
  const abort = new AbortController();
  let next = 0;
  let good = 0;
  let settled = 0;
  let launched = 0;

  return new Promise((resolve, reject) => {
    let hedge: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(hedge);
      abort.abort();
      if (good >= k) {
        try {
          resolve({ parts: segmentParts(codec, payloads, length), damage });
        } catch (err) {
          reject(err);
        }
      } else {
        reject(new SegmentLostError(entry.vault, entry.key, segment, good, k));
      }
    };
    const armHedge = () => {
      clearTimeout(hedge);
      hedge = setTimeout(() => {
        if (good < k && next < n) {
          launch();
          armHedge();
        }
      }, deps.hedgeMs);
    };
    const launch = () => {
      const pillar = next++;
      const unit = entry.units[pillar] as number;
      const name = formatSliceName({
        vault: entry.vault,
        objectId: entry.objectId,
        revision: entry.revision,
        segment,
        pillar,
      });
      launched++;
      deps.slices.get(unit, name, abort.signal).then(
        (bytes) => {
          if (good >= k) return;
          try {
            const { header, payload } = decodeSlice(bytes, name);
            if (header.segmentLength !== length) {
              throw new InvalidSliceError(
                'foreign',
                `segment length ${header.segmentLength}, manifest says ${length}`,
                name,
              );
            }
            payloads[pillar] = payload;
            good++;
          } catch (err) {
            const e = err as InvalidSliceError;
            damage.push(report(entry, segment, pillar, unit, e.defect ?? 'unreadable', e.message));
            if (next < n) launch();
          }
          settle();
        },
        (err: Error) => {
          if (good >= k) return;
          const defect =
            err instanceof SliceNotFoundError
              ? 'missing'
              : err instanceof InvalidSliceError
                ? err.defect
                : 'unreadable';
          damage.push(report(entry, segment, pillar, unit, defect, `${err.name}: ${err.message}`));
          if (next < n) launch();
          settle();
        },
      );
    };
    const settle = () => {
      settled++;
      if (good >= k || settled === launched) {
        if (good >= k || next >= n) finish();
      }
    };
    for (let i = 0; i < Math.min(k, n); i++) launch();
    armHedge();
  });
}

function report(
  entry: IndexEntry,
  segment: number,
  pillar: number,
  unit: number,
  defect: string,
  detail: string,
): SliceDamage {
  return {
    vault: entry.vault,
    key: entry.key,
    revision: entry.revision,
    segment,
    pillar,
    unit,
    defect,
    detail,
    at: new Date().toISOString(),
  };
}

export interface OpenedObject {
  entry: IndexEntry;
  range: ByteRange;
  body: AsyncIterable<Uint8Array>;
}

/**
 * Looks the key up and returns its manifest and a body stream for `range` (default: all).
 * @throws ObjectNotFoundError
 */
export async function openObject(
  deps: ReaderDeps,
  vault: string,
  key: string,
  rangeHeader?: string,
): Promise<OpenedObject> {
  const found = await deps.index.get(vault, key);
  if (!found) throw new ObjectNotFoundError(vault, key);
  const entry: IndexEntry = found;
  const range = rangeHeader ? parseRange(rangeHeader, entry.size) : { start: 0, end: entry.size };
  async function* body(): AsyncGenerator<Uint8Array> {
    if (range.end <= range.start) return;
    const first = Math.floor(range.start / entry.segmentSize);
    const last = Math.floor((range.end - 1) / entry.segmentSize);
    const damage: SliceDamage[] = [];
    // Segments in flight beyond the one being sent: their slice reads overlap its send and
    // each other's, and memory stays bounded by READ_AHEAD + 1 segments.
    const inFlight = new Map<number, ReturnType<typeof readSegment>>();
    const launch = (s: number) => {
      if (s > last || inFlight.has(s)) return;
      const read = readSegment(deps, entry, s);
      // Settled later, or dropped if the reader stops early: never an unhandled rejection.
      read.catch(() => {});
      inFlight.set(s, read);
    };
    try {
      for (let s = first; s <= last; s++) {
        for (let a = s; a <= s + READ_AHEAD; a++) launch(a);
        const current = await (inFlight.get(s) as ReturnType<typeof readSegment>);
        inFlight.delete(s);
        damage.push(...current.damage);
        // The range's bytes within this segment, part by part.
        let at = s * entry.segmentSize;
        for (const part of current.parts) {
          const from = Math.max(range.start - at, 0);
          const to = Math.min(range.end - at, part.length);
          if (from < to) yield part.subarray(from, to);
          at += part.length;
        }
      }
    } finally {
      if (damage.length > 0)
        await deps.repair.record(damage).catch((err) => console.error('repair log', err));
    }
  }
  return { entry, range, body: body() };
}

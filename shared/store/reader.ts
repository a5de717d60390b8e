/**
 * Reads: the index gives the committed manifest; each segment is rebuilt from k of its slices,
 * data pillars first (so no decoding is needed when they are all good). A slice that is missing,
 * fails its checks or errors is the cue to fetch another pillar, and so is a slow one: after a
 * latency budget one more pillar is asked (a hedge). Damage met is recorded for repair. Range
 * reads touch only their segments, and the body streams one segment ahead at most.
 */

import type { Clock } from '../clock.ts';
import {
  checkSliceLayout,
  codecFor,
  decodeSlice,
  formatSliceName,
  parseSliceName,
  segmentLength,
  segmentParts,
  shardSize,
  sliceNamesOf,
} from '../codec/index.ts';
import {
  InvalidParameterError,
  InvalidSliceError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  SegmentLostError,
  SliceNotFoundError,
} from '../errors.ts';
import type { Logger } from '../log.ts';
import type { IndexEntry, ObjectIndex, RepairLog, SliceDamage, SliceStore } from './ports.ts';
import type { DamageDefect } from './slice-damage.ts';

/** Segments read ahead of the one a body is sending. */
const READ_AHEAD = 2;

export interface ReaderDeps {
  index: ObjectIndex;
  slices: SliceStore;
  repair: RepairLog;
  /** Hears of damage reports that could not be queued (the read itself goes on). */
  log: Logger;
  clock: Clock;
  /** Wait this long for a slice before asking one more pillar. */
  hedgeMs: number;
}

/** What reading a revision already looked up needs: no index, and slice GETs alone. */
export type EntryReaderDeps = Omit<ReaderDeps, 'index' | 'slices'> & {
  slices: Pick<SliceStore, 'get'>;
};

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

/** Byte offsets within one segment, `to` exclusive. */
export interface SegmentSpan {
  from: number;
  to: number;
}

/**
 * Reads `want` of one segment (default: all of it). The code is systematic, so while the data
 * shards holding those bytes are all good, only they are fetched and nothing is decoded: a
 * small range costs one slice. A slice that is missing, fails its checks, errs or is slow
 * (past the hedge budget) switches the read to decoding from any k good slices, asking the
 * other pillars in turn. Returns the bytes as views of shards, from `offset` within the
 * segment (the caller trims to `want`), and the damage met.
 * @throws SegmentLostError when fewer than k slices are good.
 */
export async function readSegment(
  deps: { slices: Pick<SliceStore, 'get'>; hedgeMs: number; clock: Clock },
  entry: IndexEntry,
  segment: number,
  want?: SegmentSpan,
): Promise<{ parts: Uint8Array[]; offset: number; damage: SliceDamage[] }> {
  const n = entry.units.length;
  const k = entry.readThreshold;
  const codec = codecFor(k, n - k);
  const length = segmentLength(entry.size, entry.segmentSize, segment);
  const layout = { dataShards: k, width: n, segmentLength: length };
  const named = sliceNamesOf(entry);
  const size = shardSize(length, k);
  const from = Math.max(0, want?.from ?? 0);
  const to = Math.min(length, want?.to ?? length);
  // The data shards that hold bytes [from, to); none for an empty segment or span.
  const wanted: number[] = [];
  if (size > 0 && to > from) {
    for (let i = Math.floor(from / size); i <= Math.floor((to - 1) / size); i++) wanted.push(i);
  }
  const order = [...wanted, ...[...Array(n).keys()].filter((p) => !wanted.includes(p))];
  const payloads: Array<Uint8Array | null> = Array(n).fill(null);
  const damage: SliceDamage[] = [];
  const abort = new AbortController();
  let direct = true;
  let next = 0;
  let good = 0;
  let settled = 0;
  let launched = 0;

  return new Promise((resolve, reject) => {
    let hedge: NodeJS.Timeout | undefined;
    let done = false;
    const satisfied = () => (direct ? wanted.every((p) => payloads[p] !== null) : good >= k);
    const finish = () => {
      done = true;
      clearTimeout(hedge);
      abort.abort();
      if (!satisfied()) {
        reject(new SegmentLostError(entry.vault, entry.key, segment, good, k));
        return;
      }
      try {
        if (direct) {
          resolve({
            parts: wanted.map((p) =>
              (payloads[p] as Uint8Array).subarray(0, Math.min(size, length - p * size)),
            ),
            offset: (wanted[0] ?? 0) * size,
            damage,
          });
        } else {
          resolve({ parts: segmentParts(codec, payloads, length), offset: 0, damage });
        }
      } catch (err) {
        reject(err);
      }
    };
    /** Asks more pillars until enough are good or in flight: the wanted ones, or k. */
    const topUp = () => {
      const goal = direct ? wanted.length : k;
      while (good + (launched - settled) < goal && next < n) launch();
    };
    const armHedge = () => {
      clearTimeout(hedge);
      hedge = setTimeout(() => {
        if (done) return;
        if (direct) {
          direct = false;
          topUp();
        } else if (next < n) launch();
        armHedge();
      }, deps.hedgeMs);
    };
    const settle = () => {
      settled++;
      if (done) return;
      if (satisfied()) return finish();
      topUp();
      // Nothing in flight and no pillar left to ask.
      if (settled === launched) finish();
    };
    const failed = (pillar: number, unit: number, defect: DamageDefect, detail: string) => {
      damage.push(report(entry, segment, pillar, unit, defect, detail, deps.clock.date()));
      direct = false;
    };
    const launch = () => {
      const pillar = order[next++] as number;
      const unit = entry.units[pillar] as number;
      const name = formatSliceName(named(segment, pillar));
      launched++;
      deps.slices.get(unit, name, abort.signal).then(
        (bytes) => {
          if (done) return;
          try {
            const { header, payload } = decodeSlice(bytes, name);
            checkSliceLayout(header, layout, name);
            payloads[pillar] = payload;
            good++;
          } catch (err) {
            const e = err as InvalidSliceError;
            failed(pillar, unit, e.defect ?? 'unreadable', e.message);
          }
          settle();
        },
        (err: Error) => {
          if (done) return;
          const defect =
            err instanceof SliceNotFoundError
              ? 'missing'
              : err instanceof InvalidSliceError
                ? err.defect
                : 'unreadable';
          failed(pillar, unit, defect, `${err.name}: ${err.message}`);
          settle();
        },
      );
    };
    if (wanted.length === 0) {
      finish();
      return;
    }
    topUp();
    armHedge();
  });
}

function report(
  entry: IndexEntry,
  segment: number,
  pillar: number,
  unit: number,
  defect: DamageDefect,
  detail: string,
  at: Date,
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
    at: at.toISOString(),
  };
}

/**
 * Staged copies of one revision's slices away from its home units (edge units, shared/edge/):
 * where each staged pillar of a segment is. A read asks them first and falls back to the home
 * units, segment by segment, and counts which served each segment.
 */
export interface EdgeSlices {
  /** The revision the copies were made from: a read of any other revision ignores them. */
  revision: string;
  /** Reaches the edge units. */
  slices: Pick<SliceStore, 'get'>;
  /** For `segment`, each staged pillar's unit and key; undefined when none is staged. */
  placement(
    segment: number,
  ):
    | ReadonlyMap<number, { unit: number; key: string }>
    | undefined
    | Promise<ReadonlyMap<number, { unit: number; key: string }> | undefined>;
  /** Segments served from edge slices and from the home units, as the read goes. */
  served: { edge: number; home: number };
}

/**
 * Reads one segment from its edge copies, or from the home units when they cannot give it:
 * edge slices are verified exactly as home ones (header, checksum, layout), and a copy of
 * another revision is never asked.
 */
async function readSegmentEdgeFirst(
  deps: EntryReaderDeps,
  edge: EdgeSlices | undefined,
  entry: IndexEntry,
  segment: number,
  want: SegmentSpan,
): ReturnType<typeof readSegment> {
  // A client's own read learns a segment's placement with its window of URLs: it may wait.
  const placed = edge?.revision === entry.revision ? await edge.placement(segment) : undefined;
  if (edge && placed) {
    // Staged pillars from their edge copies, the others from the home units: a slow or failing
    // edge copy is hedged past as any slow slice is (after hedgeMs, with a home parity slice),
    // rather than holding the segment until every edge request has settled.
    let fromHome = false;
    const mixed: Pick<SliceStore, 'get'> = {
      get: async (unit, name, signal) => {
        const at = placed.get(parseSliceName(name).pillar);
        if (at) return edge.slices.get(at.unit, at.key, signal);
        const bytes = await deps.slices.get(unit, name, signal);
        fromHome = true;
        return bytes;
      },
    };
    try {
      const read = await readSegment({ ...deps, slices: mixed }, entry, segment, want);
      if (fromHome) edge.served.home++;
      else edge.served.edge++;
      // Damage met on edge copies is not the home units': only the home pillars' is reported.
      return { ...read, damage: read.damage.filter((d) => !placed.has(d.pillar)) };
    } catch (err) {
      if (!(err instanceof SegmentLostError)) throw err;
    }
  }
  const read = await readSegment(deps, entry, segment, want);
  if (edge) edge.served.home++;
  return read;
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
  return openEntry(deps, found, rangeHeader);
}

/**
 * A body stream for `range` (default: all) of the revision `entry` describes, as looked up
 * already (a read grant holds one).
 */
export function openEntry(
  deps: EntryReaderDeps,
  entry: IndexEntry,
  rangeHeader?: string,
  edge?: EdgeSlices,
): OpenedObject {
  const range = rangeHeader ? parseRange(rangeHeader, entry.size) : { start: 0, end: entry.size };
  return { entry, range, body: readEntry(deps, entry, range, edge) };
}

/**
 * Streams `range` (default: all) of the revision `entry` describes, whether or not the key
 * still points at it (its slices stay readable until the janitor's grace ends). Memory stays
 * bounded by a few segments, whatever the object's size.
 * @throws SegmentLostError while iterating
 */
export async function* readEntry(
  deps: EntryReaderDeps,
  entry: IndexEntry,
  range: ByteRange = { start: 0, end: entry.size },
  edge?: EdgeSlices,
): AsyncGenerator<Uint8Array> {
  const { vault, key } = entry;
  if (range.end <= range.start) return;
  const first = Math.floor(range.start / entry.segmentSize);
  const last = Math.floor((range.end - 1) / entry.segmentSize);
  const damage: SliceDamage[] = [];
  // Segments in flight beyond the one being sent: their slice reads overlap its send and
  // each other's, and memory stays bounded by READ_AHEAD + 1 segments.
  const inFlight = new Map<number, ReturnType<typeof readSegment>>();
  const launch = (s: number) => {
    if (s > last || inFlight.has(s)) return;
    const base = s * entry.segmentSize;
    const read = readSegmentEdgeFirst(deps, edge, entry, s, {
      from: range.start - base,
      to: range.end - base,
    });
    // Not a swallow: the loop below awaits this read and gets its error. The catch only keeps
    // a read dropped by a reader that stops early from being an unhandled rejection.
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
      let at = s * entry.segmentSize + current.offset;
      for (const part of current.parts) {
        const from = Math.max(range.start - at, 0);
        const to = Math.min(range.end - at, part.length);
        if (from < to) yield part.subarray(from, to);
        at += part.length;
      }
    }
  } finally {
    if (damage.length > 0)
      await deps.repair
        .record(damage)
        .catch((err) => deps.log.error('damage not queued for repair', err, { vault, key }));
  }
}

/**
 * Explain: one object's health, per segment and per pillar, with where each slice lives. It
 * reads every slice it reports on, two segments at a time, keeping no payload. One call covers
 * at most `MAX_EXPLAIN_SEGMENTS` segments and hands back a cursor for the rest, so a call's S3
 * reads and answer stay bounded whatever the object's size.
 */
import type { z } from 'zod';
import { MAX_SEGMENT_INDEX } from '../codec/index.ts';
import { InvalidParameterError, ObjectNotFoundError } from '../errors.ts';
import type { ObjectIndex, SliceStore } from '../store/index.ts';
import { decimalInteger, strictObject } from '../validate.ts';
import { inspectSegment, type PillarHealth, type Verdict, verdictOf } from './segment-health.ts';

export interface ExplainDeps {
  index: ObjectIndex;
  slices: SliceStore;
  /** The bucket of a pool unit. */
  bucketOf: (unit: number) => string;
  /** The vault's topologies; without it the answer lists none. */
  topologies?: ExplainTopologies;
}

/**
 * What explain reads of the topology store (the topology system's `TopologyStore` fits it):
 * shapes only, since that system already depends on this one.
 */
export interface ExplainTopologies {
  get(
    vault: string,
    id: string,
  ): Promise<{ state: string; topology: { units: Array<{ unit: number }> } } | undefined>;
  /** @throws VaultNotFoundError */
  current(vault: string): Promise<{ id?: string }>;
}

/** A topology as explain lists it: its id, its state as stored, and its unit per pillar. */
export interface TopologyExplanation {
  id: string;
  /** current, superseded, ... (the topology system's proposal states). */
  state: string;
  /** Pillar i maps to units[i]. */
  units: number[];
}

/** A pillar as explain shows it: its health without the bytes, and the bucket it lives in. */
export type PillarExplanation = Omit<PillarHealth, 'payload' | 'bytes'> & {
  bucket: string;
  /**
   * The unit this pillar maps to under each topology the answer lists, by topology id; a
   * topology narrower than the revision has no entry for its extra pillars.
   */
  units?: Record<string, number>;
};

export interface ObjectExplanation {
  vault: string;
  key: string;
  revision: string;
  /**
   * The vault topology the revision was written under (`GET /vaults/{vault}/topology` lists each
   * topology's unit per pillar); the pillars below name the units that hold them now.
   */
  topology?: string;
  /**
   * The topology the revision was written under and, when another, the vault's current one
   * (only the current one for a revision written before the vault had topologies). Absent when
   * explain was wired without the topology store.
   */
  topologies?: TopologyExplanation[];
  size: number;
  width: number;
  readThreshold: number;
  /** Segments of the whole object. */
  segmentCount: number;
  /** The worst verdict among the segments of this answer. */
  verdict: Verdict;
  /** Good slices of the worst segment of this answer. */
  minGood: number;
  /** The segment the next page starts at, or null when this answer reaches the last one. */
  cursor: number | null;
  segments: Array<{
    segment: number;
    good: number;
    verdict: Verdict;
    pillars: PillarExplanation[];
  }>;
}

const PARALLEL_SEGMENTS = 2;

/** Segments one explain call checks by default, and at most (each is n slice reads). */
export const DEFAULT_EXPLAIN_SEGMENTS = 64;
export const MAX_EXPLAIN_SEGMENTS = 256;

/** Which segments to explain: from `cursor` (default 0), `limit` of them. */
export const explainPageSchema = strictObject(
  {
    cursor: decimalInteger(0, MAX_SEGMENT_INDEX).default(0),
    limit: decimalInteger(1, MAX_EXPLAIN_SEGMENTS).default(DEFAULT_EXPLAIN_SEGMENTS),
  },
  'an explain parameter',
);

export type ExplainPage = z.output<typeof explainPageSchema>;

/**
 * Explains segments `page.cursor` onwards, `page.limit` of them.
 * @throws ObjectNotFoundError, InvalidParameterError (a cursor past the last segment)
 */
export async function explainObject(
  deps: ExplainDeps,
  vault: string,
  key: string,
  page: ExplainPage = { cursor: 0, limit: DEFAULT_EXPLAIN_SEGMENTS },
): Promise<ObjectExplanation> {
  const entry = await deps.index.get(vault, key);
  if (!entry) throw new ObjectNotFoundError(vault, key);
  if (page.cursor >= entry.segments)
    throw new InvalidParameterError(
      'cursor',
      `must be a segment of the object (0..${entry.segments - 1}), got ${page.cursor}`,
    );
  const width = entry.units.length;
  const topologies =
    deps.topologies && (await listTopologies(deps.topologies, vault, entry.topology));
  const unitsOf = (pillar: number) =>
    Object.fromEntries(
      (topologies ?? []).flatMap((t) =>
        t.units[pillar] === undefined ? [] : [[t.id, t.units[pillar]]],
      ),
    );
  const end = Math.min(entry.segments, page.cursor + page.limit);
  const segments: ObjectExplanation['segments'] = [];
  let next = page.cursor;
  const worker = async () => {
    while (next < end) {
      const s = next++;
      const health = await inspectSegment(deps.slices, entry, s);
      segments[s - page.cursor] = {
        segment: s,
        good: health.good,
        verdict: health.verdict,
        pillars: health.pillars.map((p) => ({
          pillar: p.pillar,
          unit: p.unit,
          bucket: deps.bucketOf(p.unit),
          key: p.key,
          present: p.present,
          checksumValid: p.checksumValid,
          revisionMatch: p.revisionMatch,
          ...(p.defect ? { defect: p.defect, detail: p.detail } : {}),
          ...(topologies ? { units: unitsOf(p.pillar) } : {}),
        })),
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_SEGMENTS, end - page.cursor) }, worker));
  const minGood = Math.min(...segments.map((s) => s.good));
  return {
    vault,
    key,
    revision: entry.revision,
    ...(entry.topology === undefined ? {} : { topology: entry.topology }),
    ...(topologies ? { topologies } : {}),
    size: entry.size,
    width,
    readThreshold: entry.readThreshold,
    segmentCount: entry.segments,
    verdict: verdictOf(minGood, width, entry.readThreshold),
    minGood,
    cursor: end < entry.segments ? end : null,
    segments,
  };
}

/**
 * The revision's topology (when it names one and the store has it) and the vault's current one
 * (when it differs), in that order, so a pillar a replacement moved shows its old and new unit.
 */
async function listTopologies(
  store: ExplainTopologies,
  vault: string,
  writtenUnder: string | undefined,
): Promise<TopologyExplanation[]> {
  const { id: current } = await store.current(vault);
  const ids = [...new Set([writtenUnder, current])].filter((id): id is string => id !== undefined);
  const records = await Promise.all(
    ids.map(async (id) => ({ id, record: await store.get(vault, id) })),
  );
  return records.flatMap(({ id, record }) =>
    record ? [{ id, state: record.state, units: record.topology.units.map((u) => u.unit) }] : [],
  );
}

/**
 * Explain: one object's health, per segment and per pillar, with where each slice lives. It
 * reads every slice of the object (n/k times its size), two segments at a time, keeping no
 * payload, so it answers for objects of any size in bounded memory.
 */
import { ObjectNotFoundError } from '../errors.ts';
import type { ObjectIndex, SliceStore } from '../store/index.ts';
import { inspectSegment, type PillarHealth, type Verdict, verdictOf } from './segment-health.ts';

export interface ExplainDeps {
  index: ObjectIndex;
  slices: SliceStore;
  /** The bucket of a pool unit. */
  bucketOf: (unit: number) => string;
}

/** A pillar as explain shows it: its health without the bytes, and the bucket it lives in. */
export type PillarExplanation = Omit<PillarHealth, 'payload' | 'bytes'> & { bucket: string };

export interface ObjectExplanation {
  vault: string;
  key: string;
  revision: string;
  size: number;
  width: number;
  readThreshold: number;
  /** The worst segment's verdict. */
  verdict: Verdict;
  /** Good slices of the worst segment. */
  minGood: number;
  segments: Array<{
    segment: number;
    good: number;
    verdict: Verdict;
    pillars: PillarExplanation[];
  }>;
}

const PARALLEL_SEGMENTS = 2;

/** @throws ObjectNotFoundError */
export async function explainObject(
  deps: ExplainDeps,
  vault: string,
  key: string,
): Promise<ObjectExplanation> {
  const entry = await deps.index.get(vault, key);
  if (!entry) throw new ObjectNotFoundError(vault, key);
  const width = entry.units.length;
  const segments: ObjectExplanation['segments'] = Array(entry.segments);
  let next = 0;
  const worker = async () => {
    while (next < entry.segments) {
      const s = next++;
      const health = await inspectSegment(deps.slices, entry, s);
      segments[s] = {
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
        })),
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_SEGMENTS, entry.segments) }, worker));
  const minGood = Math.min(...segments.map((s) => s.good));
  return {
    vault,
    key,
    revision: entry.revision,
    size: entry.size,
    width,
    readThreshold: entry.readThreshold,
    verdict: verdictOf(minGood, width, entry.readThreshold),
    minGood,
    segments,
  };
}

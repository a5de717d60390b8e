/**
 * The predictor: what a group is about to read. The top of its decayed scores, plus the
 * neighbour rule: an object that shares a prefix with a hot one and sorts just after it (the
 * next episode of a series being watched) is predicted with part of the hot one's score.
 */
import { decayed } from './access-stats.ts';
import type { AccessScore } from './ports.ts';

/** A predicted object and how much the group is expected to want it. */
export interface Target {
  vault: string;
  key: string;
  score: number;
  /** Why it is predicted: its own reads, or the hot key it follows. */
  reason: 'score' | { after: string };
}

/** A neighbour's share of the score of the hot object it follows. */
export const NEIGHBOUR_SHARE = 0.5;
/** Hot objects whose next neighbour is looked up, per run. */
export const NEIGHBOUR_LOOKUPS = 32;
/** Scores below this (a read decayed past about ten half lives) predict nothing. */
export const MIN_SCORE = 0.001;

/** The key's prefix up to and including its last `/`, or `''` (the neighbour rule's "series"). */
export function seriesOf(key: string): string {
  return key.slice(0, key.lastIndexOf('/') + 1);
}

/**
 * Orders the targets, best first: scored objects, and the neighbour that `nextKey` finds after
 * each of the `NEIGHBOUR_LOOKUPS` hottest (the key that sorts next under the same prefix, if
 * any). An object that is both keeps the larger score. Ties go by vault and key, so a plan is
 * the same for the same scores.
 */
export async function predictTargets(
  scores: readonly AccessScore[],
  now: number,
  halfLifeMs: number,
  nextKey: (vault: string, prefix: string, after: string) => Promise<string | undefined>,
): Promise<Target[]> {
  const decay = (s: AccessScore) => decayed(s.score, s.at, now, halfLifeMs);
  const byId = new Map<string, Target>();
  const id = (vault: string, key: string) => `${vault}\u0000${key}`;
  for (const s of scores) {
    const score = decay(s);
    if (score >= MIN_SCORE)
      byId.set(id(s.vault, s.key), { vault: s.vault, key: s.key, score, reason: 'score' });
  }
  const ordered = () =>
    [...byId.values()].sort(
      (a, b) => b.score - a.score || a.vault.localeCompare(b.vault) || a.key.localeCompare(b.key),
    );
  const hot = ordered().slice(0, NEIGHBOUR_LOOKUPS);
  const neighbours = await Promise.all(
    hot.map(async (t) => ({ t, next: await nextKey(t.vault, seriesOf(t.key), t.key) })),
  );
  for (const { t, next } of neighbours) {
    if (next === undefined) continue;
    const score = t.score * NEIGHBOUR_SHARE;
    const existing = byId.get(id(t.vault, next));
    if (!existing || existing.score < score)
      byId.set(id(t.vault, next), { vault: t.vault, key: next, score, reason: { after: t.key } });
  }
  return ordered();
}

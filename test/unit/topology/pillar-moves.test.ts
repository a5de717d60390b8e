/**
 * What a topology job does to each object (pillar-moves.ts `workOf`): a re-stripe rewrites what
 * is not on its topology; a replace moves each pillar its layout puts elsewhere, or rewrites an
 * object of another geometry (written before a re-stripe, indexed past its last pass); without
 * the layout (the vault moved on to a newer topology) only the job's own move is made.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IndexEntry } from '../../../shared/store/index.ts';
import { type Layout, workOf } from '../../../shared/topology/pillar-moves.ts';
import { newTopologyJob } from '../../../shared/topology/topology-job.ts';

const entry = (over: Partial<IndexEntry> = {}): IndexEntry => ({
  vault: 'photos',
  key: 'k',
  revision: '0000000000000000000000000000000',
  objectId: 'o'.repeat(22),
  size: 4,
  sha256: 'x',
  segments: 1,
  segmentSize: 65536,
  readThreshold: 2,
  units: [0, 1, 2, 3],
  committedAt: '2026-12-01T00:00:00.000Z',
  topology: 'old',
  ...over,
});

const job = (kind: 'replace' | 'restripe') =>
  newTopologyJob({
    vault: 'photos',
    id: 'new',
    from: 'old',
    kind,
    ...(kind === 'replace' ? { move: { from: 3, to: 7 } } : {}),
    since: 0,
    now: 0,
  });

/** The vault's layout after replacing 5 by 2, then 3 by 7: 2-of-4 on [0, 1, 2, 7]. */
const layout: Layout = { units: [0, 1, 2, 7], readThreshold: 2, segmentSize: 65536 };

test('a re-stripe rewrites an object written under another topology, and leaves one under its own', () => {
  assert.equal(workOf(job('restripe'), entry(), undefined), 'rewrite');
  assert.equal(workOf(job('restripe'), entry({ topology: 'new' }), undefined), undefined);
});

test('a replace moves the pillars its layout puts elsewhere: its own, and those of earlier replaces; none of an object already in place', () => {
  assert.deepEqual(workOf(job('replace'), entry(), layout), [{ pillar: 3, from: 3, to: 7 }]);
  assert.deepEqual(workOf(job('replace'), entry({ units: [0, 1, 5, 3] }), layout), [
    { pillar: 2, from: 5, to: 2 },
    { pillar: 3, from: 3, to: 7 },
  ]);
  assert.equal(workOf(job('replace'), entry({ units: [0, 1, 2, 7] }), layout), undefined);
});

test('a replace moves a pillar onto a unit that holds another pillar of the object when that one moves off in the same relocation, leaving nothing on a unit its sweep empties', () => {
  // Written under [0, 1, 5, 2] (pillar 3 on unit 2), indexed late: pillar 2 goes 5 -> 2 as
  // pillar 3 goes 2 -> 7.
  assert.deepEqual(workOf(job('replace'), entry({ units: [0, 1, 5, 2] }), layout), [
    { pillar: 2, from: 5, to: 2 },
    { pillar: 3, from: 2, to: 7 },
  ]);
});

test('a replace rewrites an object of another width, read threshold or segment size, rather than move its pillars', () => {
  for (const other of [
    { units: [0, 1, 2, 3, 4], readThreshold: 3 },
    { readThreshold: 3 },
    { segmentSize: 32768 },
  ])
    assert.equal(workOf(job('replace'), entry(other), layout), 'rewrite', JSON.stringify(other));
});

test('a replace whose vault moved on to a newer topology (no layout) makes only its own move', () => {
  assert.deepEqual(workOf(job('replace'), entry({ units: [0, 1, 5, 3] }), undefined), [
    { pillar: 3, from: 3, to: 7 },
  ]);
  assert.equal(workOf(job('replace'), entry({ units: [0, 1, 2, 7] }), undefined), undefined);
  assert.equal(
    workOf(job('replace'), entry({ units: [0, 1, 3, 7] }), undefined),
    undefined,
    'the unit taking the pillar holds another of it already',
  );
});

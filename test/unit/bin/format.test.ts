import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  columns,
  dispersingPhase,
  type Explanation,
  explainText,
  formatBytes,
  type PillarReport,
  pillarMark,
} from '../../../bin/format.ts';

const good: PillarReport = {
  pillar: 0,
  unit: 0,
  bucket: 'b0',
  key: 'v/o/r/0000000000/000',
  present: true,
  checksumValid: true,
  revisionMatch: true,
};

test('sizes print in binary units with one decimal', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(50 * 1024 * 1024), '50.0 MiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
});

test('a staged put shows how far the server dispersed it, once a step recorded it', () => {
  assert.equal(dispersingPhase(undefined, 3 * 1024 ** 3), 'dispersing');
  assert.equal(dispersingPhase(1024 ** 3, 3 * 1024 ** 3), 'dispersing: 1.0 GiB of 3.0 GiB (33%)');
  assert.equal(dispersingPhase(0, 0), 'dispersing: 0 B of 0 B (100%)');
});

test('columns align, numbers to the right, and the last column carries no padding', () => {
  const text = columns(
    [
      ['SIZE', 'KEY'],
      ['5', 'a'],
      ['12345', 'longer/key'],
    ],
    [0],
  );
  assert.equal(text, ' SIZE  KEY\n    5  a\n12345  longer/key');
});

test('each pillar gets one mark: good, missing, corrupt, another revision, unreadable', () => {
  assert.equal(pillarMark(good), '\u2713');
  assert.equal(pillarMark({ ...good, present: false, defect: 'missing' }), '\u2717');
  assert.equal(pillarMark({ ...good, checksumValid: false, defect: 'corrupt' }), '!');
  assert.equal(pillarMark({ ...good, defect: 'truncated' }), '!');
  assert.equal(pillarMark({ ...good, revisionMatch: false, defect: 'version' }), '~');
  assert.equal(pillarMark({ ...good, present: false, defect: 'unreadable' }), '?');
  assert.equal(pillarMark({ ...good, present: false }), '\u2717', 'no defect named: by the flags');
});

test('explain shows the verdict and a grid; --verbose adds units, buckets and defects', () => {
  // Prepare
  const e: Explanation = {
    vault: 'v',
    key: 'k.bin',
    revision: 'r1',
    size: 100,
    width: 2,
    readThreshold: 1,
    segmentCount: 2,
    cursor: null,
    verdict: 'degraded',
    minGood: 1,
    segments: [
      {
        segment: 0,
        good: 1,
        verdict: 'degraded',
        pillars: [
          good,
          { ...good, pillar: 1, unit: 5, bucket: 'b5', checksumValid: false, defect: 'corrupt' },
        ],
      },
    ],
  };

  // Act
  const short = explainText(e, false);
  const long = explainText(e, true);

  // Assess
  assert.match(short, /^v\/k\.bin: DEGRADED\n/);
  assert.match(
    short,
    /segment {2}p0 {2}p1 {2}good {2}verdict\n {8}0 {2}\u2713 {3}! {3}1\/2 {3}degraded/,
  );
  assert.doesNotMatch(short, /b5/);
  assert.match(long, /p1 {2}unit 5 {2}b5/);
  assert.match(long, /segment 0 p1 \(unit 5, b5\/v\/o\/r\/0000000000\/000\): corrupt/);
});

test('explain shows each pillar under the revision topology and the current one once they differ', () => {
  // Prepare: written under A; unit 3 replaced by 7 under B, pillar 3 not yet relocated.
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const pillars: PillarReport[] = [0, 1, 2, 3].map((pillar) => ({
    ...good,
    pillar,
    unit: pillar,
    bucket: `b${pillar}`,
    units: { [a]: pillar, [b]: pillar === 3 ? 7 : pillar },
  }));
  const e: Explanation = {
    vault: 'v',
    key: 'k.bin',
    revision: 'r1',
    topology: a,
    topologies: [
      { id: a, state: 'superseded', units: [0, 1, 2, 3] },
      { id: b, state: 'current', units: [0, 1, 2, 7] },
    ],
    size: 100,
    width: 4,
    readThreshold: 2,
    segmentCount: 1,
    cursor: null,
    verdict: 'healthy',
    minGood: 4,
    segments: [{ segment: 0, good: 4, verdict: 'healthy', pillars }],
  };
  const same: Explanation = { ...e, topologies: e.topologies?.slice(0, 1) };

  // Act
  const text = explainText(e, false);

  // Assess
  assert.match(
    text,
    /topology: written under aaaaaaaaaaaa \(superseded\), vault now at bbbbbbbbbbbb \(current\)/,
  );
  assert.match(text, /pillar 0: unit 0 under both; held on unit 0\n/);
  assert.match(
    text,
    /pillar 3: unit 3 \(written under aaaaaaaaaaaa\) -> unit 7 \(current bbbbbbbbbbbb\); held on unit 3$/,
  );
  assert.match(text, /segment {2}p0 {2}p1 {2}p2 {2}p3 {2}good {2}verdict/);
  assert.doesNotMatch(explainText(same, false), /topology:|pillar 0:/);
});

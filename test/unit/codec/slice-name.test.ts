import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  formatSliceName,
  parseSliceName,
  revisionPrefix,
  type SliceName,
} from '../../../shared/codec/slice-name.ts';
import { InvalidSliceNameError } from '../../../shared/errors.ts';
import { objectIdOf } from '../../../shared/store/revision.ts';

const sliceNameArb: fc.Arbitrary<SliceName> = fc.record({
  vault: fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}[a-z0-9]$/),
  objectId: fc.string().map((key) => objectIdOf('v', key)),
  revision: fc
    .tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.uint8Array({ minLength: 8, maxLength: 8 }))
    .map(([t, r]) => `${t.toString(36).padStart(10, '0')}${Buffer.from(r).toString('hex')}`),
  segment: fc.integer({ min: 0, max: 9_999_999_999 }),
  pillar: fc.integer({ min: 0, max: 255 }),
});

const sample: SliceName = {
  vault: 'default',
  objectId: objectIdOf('default', 'a/b.txt'),
  revision: '0000mhx3k2a1b2c3d4e5f6a7b8',
  segment: 12,
  pillar: 3,
};

test('a slice name formats to its canonical key and parses back losslessly', () => {
  fc.assert(
    fc.property(sliceNameArb, (name) => {
      // Act
      const text = formatSliceName(name);
      const back = parseSliceName(text);

      // Assess
      assert.deepEqual(back, { ...name });
      assert.equal(formatSliceName(back), text);
      assert.ok(text.startsWith(revisionPrefix(name.vault, name.objectId, name.revision)));
    }),
    { numRuns: 300 },
  );
  assert.equal(
    formatSliceName(sample),
    `default/${sample.objectId}/0000mhx3k2a1b2c3d4e5f6a7b8/0000000012/003`,
  );
});

test('keys of one revision sort by segment, then pillar', () => {
  // Prepare
  const names = [
    { ...sample, segment: 10, pillar: 0 },
    { ...sample, segment: 2, pillar: 11 },
    { ...sample, segment: 2, pillar: 3 },
  ];

  // Act
  const sorted = names.map(formatSliceName).sort();

  // Assess
  assert.deepEqual(
    sorted.map((t) => parseSliceName(t)).map((n) => [n.segment, n.pillar]),
    [
      [2, 3],
      [2, 11],
      [10, 0],
    ],
  );
});

test('malformed names are rejected with the rule they break', () => {
  // Prepare
  const good = formatSliceName(sample);
  const cases: Array<[string, RegExp]> = [
    ['', /expected <vault>/],
    [good.replace('/003', '/3'), /expected <vault>/],
    [good.replace('default', 'Default'), /is not a vault name/],
    [good.replace(sample.objectId, 'short'), /object id must be 22/],
    [good.replace('0000mhx3k2a1b2c3d4e5f6a7b8', '0000mhx3k2A1B2c3d4e5f6a7b8'), /revision must be/],
    [good.replace('/003', '/256'), /pillar must be an integer 0..255/],
    [`${good}/extra`, /expected <vault>/],
    [`/${good}`, /expected <vault>/],
  ];

  for (const [text, rule] of cases) {
    // Act, Assess
    assert.throws(
      () => parseSliceName(text),
      (e: Error) =>
        e instanceof InvalidSliceNameError &&
        e.name === 'InvalidSliceNameError' &&
        e.value === text &&
        rule.test(e.message),
      text,
    );
  }
});

test('a name that breaks a rule cannot be formatted either', () => {
  // Act, Assess
  assert.throws(() => formatSliceName({ ...sample, pillar: 256 }), InvalidSliceNameError);
  assert.throws(() => formatSliceName({ ...sample, segment: -1 }), InvalidSliceNameError);
  assert.throws(() => formatSliceName({ ...sample, vault: 'a/b' }), InvalidSliceNameError);
});

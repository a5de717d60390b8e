import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidSliceError, InvalidSliceNameError } from '../../shared/errors.ts';
import { objectIdOf } from '../../shared/revision.ts';
import { decodeSlice, encodeSlice } from '../../shared/slice-header.ts';
import { formatSliceName, parseSliceName, type SliceName } from '../../shared/slice-name.ts';

const nameArb = fc.record({
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

describe('slice names', () => {
  test('the canonical form parses back losslessly', () => {
    fc.assert(
      fc.property(nameArb, (name) => {
        const text = formatSliceName(name);
        assert.deepEqual(parseSliceName(text), { ...name });
        assert.equal(formatSliceName(parseSliceName(text)), text);
      }),
    );
    assert.equal(
      formatSliceName(sample),
      `default/${sample.objectId}/0000mhx3k2a1b2c3d4e5f6a7b8/0000000012/003`,
    );
  });

  test('malformed names are rejected with the rule they break', () => {
    const good = formatSliceName(sample);
    const cases: Array<[string, RegExp]> = [
      ['', /expected <vault>/],
      [good.replace('/003', '/3'), /expected <vault>/],
      [good.replace('default', 'Default'), /is not a vault name/],
      [good.replace(sample.objectId, 'short'), /object id must be 22/],
      [
        good.replace('0000mhx3k2a1b2c3d4e5f6a7b8', '0000mhx3k2A1B2c3d4e5f6a7b8'),
        /revision must be/,
      ],
      [good.replace('/003', '/256'), /pillar must be an integer 0..255/],
      [`${good}/extra`, /expected <vault>/],
    ];
    for (const [text, rule] of cases) {
      assert.throws(
        () => parseSliceName(text),
        (e: Error) => e instanceof InvalidSliceNameError && rule.test(e.message),
        text,
      );
    }
  });
});

describe('slice header', () => {
  const meta = { name: sample, dataShards: 4, parityShards: 2, segmentLength: 1000 };

  test('a slice decodes to its header and payload', () => {
    const payload = randomBytes(250);
    const { header, payload: out } = decodeSlice(
      encodeSlice(meta, payload),
      formatSliceName(sample),
    );
    assert.deepEqual(header.name, sample);
    assert.equal(header.dataShards, 4);
    assert.equal(header.parityShards, 2);
    assert.equal(header.segmentLength, 1000);
    assert.deepEqual(Buffer.from(out), payload);
  });

  test('a flipped byte anywhere in a slice is caught', () => {
    const slice = encodeSlice(meta, randomBytes(300));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: slice.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, mask) => {
          const bad = Uint8Array.from(slice);
          bad[at] = (bad[at] as number) ^ mask;
          assert.throws(() => decodeSlice(bad, formatSliceName(sample)), InvalidSliceError);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a truncated slice is rejected as truncated, a foreign one as foreign', () => {
    const slice = encodeSlice(meta, randomBytes(64));
    for (const cut of [1, 10, 29, 40, slice.length - 1]) {
      assert.throws(
        () => decodeSlice(slice.subarray(0, cut)),
        (e: Error) =>
          e instanceof InvalidSliceError &&
          (e.defect === 'truncated' || (cut < 4 && e.defect === 'foreign')),
        `cut at ${cut}`,
      );
    }
    assert.throws(
      () => decodeSlice(randomBytes(100)),
      (e: Error) => e instanceof InvalidSliceError && e.defect === 'foreign',
    );
    const other = formatSliceName({ ...sample, pillar: 4 });
    assert.throws(
      () => decodeSlice(slice, other),
      (e: Error) =>
        e instanceof InvalidSliceError &&
        e.defect === 'foreign' &&
        e.message.includes('holds slice'),
    );
  });
});

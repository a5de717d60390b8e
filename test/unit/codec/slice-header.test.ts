import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32 } from '../../../shared/codec/checksum.ts';
import {
  builtSliceS3Crc32,
  decodeSlice,
  encodeSlice,
  type SliceMeta,
  s3Crc32,
} from '../../../shared/codec/slice-header.ts';
import { formatSliceName, type SliceName } from '../../../shared/codec/slice-name.ts';
import { InvalidSliceError } from '../../../shared/errors.ts';
import { objectIdOf } from '../../../shared/store/revision.ts';

const sample: SliceName = {
  vault: 'default',
  objectId: objectIdOf('default', 'a/b.txt'),
  revision: '0000mhx3k2a1b2c3d4e5f6a7b8',
  segment: 12,
  pillar: 3,
};

/** A slice shape: k, m, pillar below k + m, and a segment length. */
const shapeArb = fc
  .tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 20 }))
  .chain(([k, m]) =>
    fc.record({
      k: fc.constant(k),
      m: fc.constant(m),
      pillar: fc.integer({ min: 0, max: k + m - 1 }),
      segmentLength: fc.integer({ min: 0, max: 3000 }),
    }),
  );

function build(shape: { k: number; m: number; pillar: number; segmentLength: number }) {
  const meta: SliceMeta = {
    name: { ...sample, pillar: shape.pillar },
    dataShards: shape.k,
    parityShards: shape.m,
    segmentLength: shape.segmentLength,
  };
  const payload = randomBytes(Math.ceil(shape.segmentLength / shape.k));
  return { meta, payload, slice: encodeSlice(meta, payload), key: formatSliceName(meta.name) };
}

/** Rewrites a header field and its header checksum, as a buggy or hostile writer would. */
function forge(slice: Uint8Array, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(slice);
  edit(b);
  const nameLength = b.readUInt16LE(24);
  b.writeUInt32LE(crc32(b.subarray(0, 26 + nameLength)), 26 + nameLength);
  return b;
}

const defect = (d: string) => (e: unknown) => e instanceof InvalidSliceError && e.defect === d;

test('a slice decodes to the header and payload it was built from', () => {
  fc.assert(
    fc.property(shapeArb, (shape) => {
      // Prepare
      const { meta, payload, slice, key } = build(shape);

      // Act
      const { header, payload: out } = decodeSlice(slice, key);

      // Assess
      assert.deepEqual(header.name, meta.name);
      assert.equal(header.dataShards, shape.k);
      assert.equal(header.parityShards, shape.m);
      assert.equal(header.segmentLength, shape.segmentLength);
      assert.equal(header.payloadLength, payload.length);
      assert.equal(header.payloadCrc, crc32(payload));
      assert.deepEqual(Buffer.from(out), payload);
    }),
    { numRuns: 200 },
  );
});

test("a built slice's S3 CRC from its header is the CRC of all its bytes", () => {
  fc.assert(
    fc.property(shapeArb, (shape) => {
      // Prepare
      const { slice } = build(shape);

      // Act, Assess
      assert.equal(builtSliceS3Crc32(slice), s3Crc32(slice));
    }),
    { numRuns: 200 },
  );
  assert.throws(() => builtSliceS3Crc32(new Uint8Array(10)), /not a built slice/);
  const { slice } = build({ k: 1, m: 0, pillar: 0, segmentLength: 3 });
  assert.throws(() => builtSliceS3Crc32(slice.subarray(0, slice.length - 1)), /not a built slice/);
});

test('a flipped byte anywhere in a slice is caught by its checksums', () => {
  fc.assert(
    fc.property(
      shapeArb,
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.integer({ min: 1, max: 255 }),
      (shape, where, mask) => {
        // Prepare
        const { slice, key } = build(shape);
        const bad = Uint8Array.from(slice);
        const at = Math.floor(where * bad.length);
        bad[at] = (bad[at] as number) ^ mask;

        // Act, Assess
        assert.throws(() => decodeSlice(bad, key), InvalidSliceError, `byte ${at}`);
        assert.throws(() => decodeSlice(bad), InvalidSliceError, `byte ${at}, no name expected`);
      },
    ),
    { numRuns: 1000 },
  );
});

test('every byte of a small slice, flipped, is caught', () => {
  // Prepare
  const { slice, key } = build({ k: 4, m: 2, pillar: 5, segmentLength: 100 });

  for (let at = 0; at < slice.length; at++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bad = Uint8Array.from(slice);
      bad[at] = (bad[at] as number) ^ mask;

      // Act, Assess
      assert.throws(() => decodeSlice(bad, key), InvalidSliceError, `byte ${at} ^ ${mask}`);
    }
  }
});

test('a slice cut short anywhere is rejected as truncated', () => {
  // Prepare
  const { slice, key } = build({ k: 3, m: 2, pillar: 0, segmentLength: 200 });

  for (let cut = 0; cut < slice.length; cut++) {
    // Act, Assess
    assert.throws(
      () => decodeSlice(slice.subarray(0, cut), key),
      (e: unknown) => defect('truncated')(e) && /bytes/.test((e as Error).message),
      `cut at ${cut}`,
    );
  }
});

test('bytes that are not a slice, or another slice, are rejected as foreign', () => {
  // Prepare
  const { slice, key } = build({ k: 4, m: 2, pillar: 3, segmentLength: 64 });
  const other = formatSliceName({ ...sample, pillar: 4 });

  // Act, Assess
  assert.throws(() => decodeSlice(randomBytes(100), key), defect('foreign'));
  assert.throws(() => decodeSlice(Buffer.from('{"hello":"world"}'), key), defect('foreign'));
  assert.throws(() => decodeSlice(Buffer.from('ab'), key), defect('foreign'));
  assert.throws(
    () => decodeSlice(slice, other),
    (e: unknown) =>
      defect('foreign')(e) &&
      (e as InvalidSliceError).sliceName === other &&
      (e as Error).message.includes(`holds slice ${key}`),
  );
});

test('a header whose fields contradict each other is corrupt even with a valid checksum', () => {
  // Prepare
  const { slice, key } = build({ k: 4, m: 2, pillar: 3, segmentLength: 1000 });
  const cases: Array<[(b: Buffer) => void, RegExp]> = [
    [(b) => b.writeUInt16LE(0, 6), /k must be >= 1/],
    [(b) => b.writeUInt16LE(255, 8), /k \+ m must be <= 256/],
    [
      (b) => {
        b.writeUInt16LE(3, 6);
        b.writeUInt16LE(0, 8);
      },
      /pillar 3 is not below k \+ m = 3/,
    ],
    [(b) => b.writeUInt32LE(2000, 12), /payload of 250 bytes, but a 2000-byte segment/],
  ];

  for (const [edit, rule] of cases) {
    // Act, Assess
    assert.throws(
      () => decodeSlice(forge(slice, edit), key),
      (e: unknown) => defect('corrupt')(e) && rule.test((e as Error).message),
      String(rule),
    );
  }
});

test('a newer format version or unknown flags are refused, not misread', () => {
  // Prepare
  const { slice, key } = build({ k: 2, m: 1, pillar: 0, segmentLength: 10 });

  // Act, Assess
  assert.throws(
    () =>
      decodeSlice(
        forge(slice, (b) => b.writeUInt8(2, 4)),
        key,
      ),
    (e: unknown) => defect('version')(e) && /format version 2, this code reads 1/.test(String(e)),
  );
  assert.throws(
    () =>
      decodeSlice(
        forge(slice, (b) => b.writeUInt8(1, 5)),
        key,
      ),
    defect('version'),
  );
});

test('a slice is not built from fields that contradict each other', () => {
  // Prepare
  const meta: SliceMeta = { name: sample, dataShards: 4, parityShards: 2, segmentLength: 1000 };

  // Act, Assess
  assert.throws(() => encodeSlice(meta, new Uint8Array(249)), {
    name: 'RangeError',
    message:
      'cannot build slice: payload of 249 bytes, but a 1000-byte segment over k = 4 has 250-byte shards',
  });
  assert.throws(
    () => encodeSlice({ ...meta, dataShards: 2, parityShards: 1 }, new Uint8Array(500)),
    {
      name: 'RangeError',
      message: 'cannot build slice: pillar 3 is not below k + m = 3',
    },
  );
});

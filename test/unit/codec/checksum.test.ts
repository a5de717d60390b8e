import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32, crc32Combine, s3Crc32 } from '../../../shared/codec/checksum.ts';

test('crc32 is the IEEE CRC-32 S3 checks: the standard check value and its base64 form', () => {
  // Prepare
  const check = Buffer.from('123456789', 'latin1');

  // Act, Assess
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(s3Crc32(check), Buffer.from('cbf43926', 'hex').toString('base64'));
});

test('crc32 continues across pieces as over the whole', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5000 }), fc.nat(), (size, cutSeed) => {
      // Prepare
      const data = randomBytes(size);
      const cut = size === 0 ? 0 : cutSeed % size;

      // Act
      const pieces = crc32(data.subarray(cut), crc32(data.subarray(0, cut)));

      // Assess
      assert.equal(pieces, crc32(data));
      assert.ok(pieces >= 0 && pieces <= 0xffffffff);
    }),
  );
});

test('crc32Combine gives the CRC of two pieces joined from their CRCs and the second length', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 3000 }), (a, b) => {
      // Prepare
      const left = randomBytes(a);
      const right = randomBytes(b);

      // Act
      const joined = crc32Combine(crc32(left), crc32(right), right.length);

      // Assess
      assert.equal(joined, crc32(Buffer.concat([left, right])));
    }),
    { numRuns: 300 },
  );
  // Lengths past 2^31 bytes are halved as numbers, not as 32-bit integers.
  const big = 2 ** 32 + 5;
  assert.equal(crc32Combine(0, 0, big), crc32Combine(crc32Combine(0, 0, 2 ** 32), 0, 5));
});

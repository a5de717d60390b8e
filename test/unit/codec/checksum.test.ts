import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32, s3Crc32 } from '../../../shared/codec/checksum.ts';

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

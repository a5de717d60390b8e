import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createCodecPool } from '../../../shared/codec/pool.ts';
import { createCodec } from '../../../shared/codec/reed-solomon.ts';
import { encodeSegment } from '../../../shared/codec/segment.ts';

for (const transfer of [false, true]) {
  test(`the worker pool encodes segments exactly as one thread does (${transfer ? 'transferred' : 'copied'})`, async () => {
    // Prepare
    const pool = createCodecPool(6, 3, { threads: 2 });
    const codec = createCodec(6, 3);
    const segments = [0, 1, 5, 999, 4096, 100_001, 7, 100_001].map((n) => randomBytes(n));
    const expected = segments.map((s) =>
      encodeSegment(codec, s).map((shard) => Buffer.from(shard)),
    );
    // A transferred segment must own its whole ArrayBuffer.
    const sent = segments.map((s) => (transfer ? new Uint8Array(s) : s));

    try {
      // Act
      const pooled = await Promise.all(sent.map((s) => pool.encodeSegment(s, { transfer })));

      // Assess
      pooled.forEach((shards, i) => {
        assert.deepEqual(
          shards.map((s) => Buffer.from(s)),
          expected[i],
          `segment ${i}`,
        );
      });
      if (!transfer) assert.deepEqual(sent, segments, 'copied segments are left as they were');
    } finally {
      await pool.close();
    }
  });
}

test('a pool needs at least one thread, and refuses work once closed', async () => {
  // Act, Assess
  assert.throws(
    () => createCodecPool(2, 1, { threads: 0 }),
    /threads must be an integer >= 1, got 0/,
  );
  const pool = createCodecPool(2, 1, { threads: 1 });
  await pool.close();
  await assert.rejects(pool.encodeSegment(new Uint8Array(10)), /codec pool is closed/);
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createCodec } from '../../../shared/codec/index.ts';
import { createCodecPool } from '../../../shared/codec/pool.ts';
import { encodeSegment } from '../../../shared/segment.ts';

test('the worker pool encodes segments exactly as one thread does', async () => {
  // Prepare
  const pool = createCodecPool(6, 3, { threads: 2 });
  const codec = createCodec(6, 3);
  const segments = [0, 1, 5, 999, 4096, 100_001].map((n) => randomBytes(n));

  try {
    // Act
    const pooled = await Promise.all(segments.map((s) => pool.encodeSegment(s)));

    // Assess
    pooled.forEach((shards, i) => {
      const expected = encodeSegment(codec, segments[i] as Uint8Array).map((s) => Buffer.from(s));
      assert.deepEqual(
        shards.map((s) => Buffer.from(s)),
        expected,
        `segment ${i}`,
      );
    });
  } finally {
    await pool.close();
  }
});

test('a pool needs at least one thread', () => {
  assert.throws(
    () => createCodecPool(2, 1, { threads: 0 }),
    /threads must be an integer >= 1, got 0/,
  );
});

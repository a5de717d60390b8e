import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createCodec, TooFewShardsError } from '../../../shared/codec/index.ts';

const VECTORS = JSON.parse(
  readFileSync(new URL('../../../../shared/vectors/rs-gf256.json', import.meta.url), 'utf8'),
) as { vectors: Array<{ k: number; m: number; shardBytes: number; shards: string[] }> };

const KERNELS = ['auto', 'typescript'] as const;

function randomShards(k: number, m: number, size: number): Uint8Array[] {
  return [...Array(k + m)].map((_, i) =>
    i < k ? randomFillSync(new Uint8Array(size)) : new Uint8Array(size),
  );
}

for (const kernel of KERNELS) {
  describe(`codec (${kernel} kernel)`, () => {
    test('reproduces the shared Backblaze/klauspost vectors byte for byte', () => {
      for (const v of VECTORS.vectors) {
        // Prepare
        const codec = createCodec(v.k, v.m, { kernel });
        const shards = v.shards.map((hex, i) =>
          i < v.k ? Buffer.from(hex, 'hex') : new Uint8Array(v.shardBytes),
        );

        // Act
        codec.encode(shards);

        // Assess
        shards.forEach((s, i) => {
          assert.equal(Buffer.from(s).toString('hex'), v.shards[i], `k=${v.k} m=${v.m} shard ${i}`);
        });
        assert.equal(codec.verify(shards), true);
      }
    });

    test('any <= m lost shards come back exactly, for random shapes, sizes and erasure patterns', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 20 }),
          fc.integer({ min: 0, max: 8 }),
          fc.integer({ min: 0, max: 2000 }),
          fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
          (k, m, size, coins) => {
            // Prepare
            const codec = createCodec(k, m, { kernel });
            const shards = randomShards(k, m, size);
            codec.encode(shards);
            const lostCount = Math.floor((coins.next().value as number) * (m + 1));
            const order = [...Array(k + m).keys()].sort(() => (coins.next().value as number) - 0.5);
            const lost = order.slice(0, lostCount);
            const damaged: Array<Uint8Array | null> = shards.map((s, i) =>
              lost.includes(i) ? null : s,
            );

            // Act
            codec.reconstruct(damaged);

            // Assess
            damaged.forEach((s, i) => {
              assert.deepEqual(s, shards[i], `k=${k} m=${m} size=${size} lost=${lost} shard ${i}`);
            });
          },
        ),
        { numRuns: 200 },
      );
    });

    test('m + 1 lost shards raise TooFewShardsError stating present and needed', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 6 }), (k, m) => {
          const codec = createCodec(k, m, { kernel });
          const shards = randomShards(k, m, 64);
          codec.encode(shards);
          const damaged = shards.map((s, i) => (i <= m ? null : s));
          assert.throws(
            () => codec.reconstruct(damaged),
            (err: Error) =>
              err instanceof TooFewShardsError &&
              err.present === k - 1 &&
              err.needed === k &&
              err.message === `only ${k - 1} shards present, ${k} needed to reconstruct`,
          );
        }),
        { numRuns: 50 },
      );
    });

    test('verify notices a changed byte in any shard', () => {
      const codec = createCodec(6, 3, { kernel });
      const shards = randomShards(6, 3, 100);
      codec.encode(shards);
      for (let i = 0; i < 9; i++) {
        const copy = shards.map((s) => Uint8Array.from(s));
        const changed = copy[i] as Uint8Array;
        changed[37] = (changed[37] as number) ^ 0x40;
        assert.equal(codec.verify(copy), false, `shard ${i}`);
      }
    });

    test('rebuild recomputes given shards in place', () => {
      const codec = createCodec(10, 4, { kernel });
      const shards = codec.allocShards(1000);
      for (let i = 0; i < 10; i++) randomFillSync(shards[i] as Uint8Array);
      codec.encode(shards);
      const expected = shards.map((s) => Uint8Array.from(s));
      for (const i of [0, 3, 11, 13]) (shards[i] as Uint8Array).fill(0xee);
      codec.reconstruct(shards, { rebuild: [0, 3, 11, 13] });
      shards.forEach((s, i) => {
        assert.deepEqual(Uint8Array.from(s), expected[i], `shard ${i}`);
      });
    });
  });
}

describe('codec arguments', () => {
  test('shapes outside 1 <= k, 0 <= m, k + m <= 256 are RangeErrors naming the rule', () => {
    assert.throws(() => createCodec(0, 2), {
      name: 'RangeError',
      message: 'dataShards must be an integer >= 1, got 0',
    });
    assert.throws(() => createCodec(2, -1), {
      name: 'RangeError',
      message: 'parityShards must be an integer >= 0, got -1',
    });
    assert.throws(() => createCodec(1.5, 1), /dataShards must be an integer/);
    assert.throws(() => createCodec(200, 57), {
      name: 'RangeError',
      message: 'dataShards + parityShards must be <= 256, got 257',
    });
    assert.doesNotThrow(() => createCodec(200, 56));
  });

  test('a wrong shard count or unequal lengths are RangeErrors naming the rule', () => {
    const codec = createCodec(2, 1);
    assert.throws(() => codec.encode([new Uint8Array(4), new Uint8Array(4)]), {
      name: 'RangeError',
      message: 'encode takes k + m = 3 shards, got 2',
    });
    assert.throws(() => codec.encode([new Uint8Array(4), new Uint8Array(5), new Uint8Array(4)]), {
      name: 'RangeError',
      message: 'all shards must have the same length: shard 1 has 5 bytes, shard 0 has 4',
    });
    assert.throws(
      () => codec.reconstruct([new Uint8Array(4), null]),
      /reconstruct takes k \+ m = 3 shards, got 2/,
    );
  });

  test('the SIMD kernel is the one in use on Node 24', () => {
    assert.equal(createCodec(4, 2).kernel, 'wasm-relaxed-simd');
  });
});

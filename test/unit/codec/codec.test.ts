import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type CodecOptions,
  createCodec,
  TooFewShardsError,
} from '../../../shared/codec/reed-solomon.ts';

interface Vector {
  k: number;
  m: number;
  shardBytes: number;
  shards: string[];
}

/** The shared vectors, kept beside the tests so that a clone of this repository has them. */
const VECTORS_URL = new URL('./rs-gf256.json', import.meta.url);
/** Where the shared copy lives, next to the repository, when it does. */
const SHARED_VECTORS_URL = new URL('../../../../shared/vectors/rs-gf256.json', import.meta.url);
const VECTORS = (JSON.parse(readFileSync(VECTORS_URL, 'utf8')) as { vectors: Vector[] }).vectors;

const KERNELS: Array<NonNullable<CodecOptions['kernel']>> = ['auto', 'typescript'];

/**
 * Shapes every property runs over, as klauspost/reedsolomon loops its tests over option sets:
 * the edges of the limits, shapes the store uses, and ones that leave a partial group of four
 * outputs in the SIMD kernel.
 */
const SHAPES: Array<[number, number]> = [
  [1, 0],
  [1, 1],
  [1, 5],
  [2, 1],
  [3, 2],
  [4, 2],
  [5, 5],
  [6, 3],
  [7, 7],
  [8, 4],
  [10, 4],
  [12, 4],
  [16, 4],
  [17, 3],
  [20, 10],
  [32, 8],
  [50, 20],
  [64, 64],
  [128, 128],
  [200, 56],
  [255, 1],
  [1, 255],
];

/** Runs per shape: big shapes are slow on the pure-TS kernel and gain little from more runs. */
const runsFor = (k: number, m: number) => (k * (m + 1) > 2000 ? 3 : k * (m + 1) > 300 ? 8 : 25);

/** Sizes that cover empty shards, the kernel's 32-byte blocks and the byte-wise tail. */
const sizeArb = fc.oneof(
  fc.constantFrom(0, 1, 31, 32, 33, 64, 95),
  fc.integer({ min: 0, max: 1100 }),
);

function randomShards(k: number, m: number, size: number): Uint8Array[] {
  return [...Array(k + m)].map((_, i) =>
    i < k ? randomFillSync(new Uint8Array(size)) : new Uint8Array(size),
  );
}

/** `count` distinct indices below `n`, drawn by fast-check. */
const indicesArb = (n: number, count: number) =>
  fc
    .shuffledSubarray([...Array(n).keys()], { minLength: count, maxLength: count })
    .map((xs) => [...xs]);

test('the vectors beside the tests are the shared ones', (t) => {
  if (!existsSync(SHARED_VECTORS_URL)) {
    t.skip('no shared vectors next to this repository');
    return;
  }
  // Act
  const shared = JSON.parse(readFileSync(SHARED_VECTORS_URL, 'utf8')) as { vectors: Vector[] };

  // Assess
  assert.deepEqual(VECTORS, shared.vectors);
});

for (const kernel of KERNELS) {
  describe(`codec, ${kernel} kernel`, () => {
    test('encode reproduces the shared Backblaze/klauspost vectors byte for byte', () => {
      assert.ok(VECTORS.length >= 10);
      for (const v of VECTORS) {
        // Prepare
        const codec = createCodec(v.k, v.m, { kernel });
        const shards = v.shards.map((hex, i) =>
          i < v.k ? Buffer.from(hex, 'hex') : new Uint8Array(v.shardBytes),
        );

        // Act
        codec.encode(shards);

        // Assess
        shards.forEach((s, i) => {
          assert.equal(Buffer.from(s).toString('hex'), v.shards[i], `${v.k}+${v.m} shard ${i}`);
        });
        assert.equal(codec.verify(shards), true);
      }
    });

    test('reconstruct gives every vector back from its last k shards', () => {
      for (const v of VECTORS) {
        // Prepare
        const codec = createCodec(v.k, v.m, { kernel });
        const damaged = v.shards.map((hex, i) => (i < v.m ? null : Buffer.from(hex, 'hex')));

        // Act
        codec.reconstruct(damaged);

        // Assess
        damaged.forEach((s, i) => {
          assert.equal(Buffer.from(s as Uint8Array).toString('hex'), v.shards[i]);
        });
      }
    });

    for (const [k, m] of SHAPES) {
      test(`${k}+${m}: any <= m lost shards come back exactly`, () => {
        const codec = createCodec(k, m, { kernel });
        fc.assert(
          fc.property(
            sizeArb,
            fc.integer({ min: 0, max: m }).chain((lost) => indicesArb(k + m, lost)),
            (size, lost) => {
              // Prepare
              const shards = randomShards(k, m, size);
              codec.encode(shards);
              const damaged = shards.map((s, i) => (lost.includes(i) ? null : s));

              // Act
              codec.reconstruct(damaged);

              // Assess
              damaged.forEach((s, i) => {
                assert.deepEqual(s, shards[i], `size ${size}, lost ${lost}, shard ${i}`);
              });
            },
          ),
          { numRuns: runsFor(k, m) },
        );
      });

      test(`${k}+${m}: m + 1 lost shards raise TooFewShardsError`, () => {
        const codec = createCodec(k, m, { kernel });
        fc.assert(
          fc.property(indicesArb(k + m, Math.min(m + 1, k + m)), (lost) => {
            // Prepare
            const shards = randomShards(k, m, 40);
            codec.encode(shards);
            const damaged = shards.map((s, i) => (lost.includes(i) ? undefined : s));

            // Act, Assess
            assert.throws(
              () => codec.reconstruct(damaged),
              (err: unknown) =>
                err instanceof TooFewShardsError &&
                err.name === 'TooFewShardsError' &&
                err.present === k - 1 &&
                err.needed === k &&
                err.message === `only ${k - 1} shards present, ${k} needed to reconstruct`,
            );
          }),
          { numRuns: 10 },
        );
      });
    }

    test('verify notices a changed byte anywhere in any shard', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...SHAPES.filter(([, m]) => m > 0 && m < 64)),
          fc.integer({ min: 1, max: 300 }),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          ([k, m], size, shardSeed, at, mask) => {
            // Prepare
            const codec = createCodec(k, m, { kernel });
            const shards = randomShards(k, m, size);
            codec.encode(shards);
            const changed = shards[shardSeed % (k + m)] as Uint8Array;
            changed[at % size] = (changed[at % size] as number) ^ mask;

            // Act, Assess
            assert.equal(codec.verify(shards), false);
          },
        ),
        { numRuns: 100 },
      );
    });

    test('rebuild recomputes the listed shards in their own arrays', () => {
      // Prepare
      const codec = createCodec(10, 4, { kernel });
      const shards = codec.allocShards(1000);
      for (let i = 0; i < 10; i++) randomFillSync(shards[i] as Uint8Array);
      codec.encode(shards);
      const expected = shards.map((s) => Uint8Array.from(s));
      const arrays = [...shards];
      for (const i of [0, 3, 11, 13]) (shards[i] as Uint8Array).fill(0xee);

      // Act
      codec.reconstruct(shards, { rebuild: [0, 3, 11, 13] });

      // Assess
      shards.forEach((s, i) => {
        assert.equal(s, arrays[i], `shard ${i} is the same array`);
        assert.deepEqual(Uint8Array.from(s), expected[i], `shard ${i}`);
      });
    });
  });
}

test('the SIMD and pure-TS kernels agree on random shapes and data', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 0, max: 20 }),
      sizeArb,
      (k, m, size) => {
        // Prepare
        const simd = createCodec(k, m);
        const ts = createCodec(k, m, { kernel: 'typescript' });
        const a = randomShards(k, m, size);
        const b = a.map((s) => Uint8Array.from(s));

        // Act
        simd.encode(a);
        ts.encode(b);

        // Assess
        assert.deepEqual(a, b);
      },
    ),
    { numRuns: 150 },
  );
});

test('shards in the kernel memory round-trip, and stale views are refused once it grows', () => {
  // Prepare
  const codec = createCodec(4, 2);
  const shards = codec.allocShards(4096);
  for (let i = 0; i < 4; i++) randomFillSync(shards[i] as Uint8Array);
  codec.encode(shards);
  const expected = shards.map((s) => Uint8Array.from(s));
  const damaged: Array<Uint8Array | null> = [null, shards[1] ?? null, null, ...shards.slice(3)];

  // Act
  codec.reconstruct(damaged);
  const rebuilt = damaged.map((s) => Uint8Array.from(s as Uint8Array));
  codec.encode(randomShards(4, 2, 8 << 20));
  const fresh = codec.allocShards(64);
  codec.encode(fresh);

  // Assess
  assert.deepEqual(rebuilt, expected);
  assert.equal(codec.verify(fresh), true, 'views allocated after the memory grew work');
  assert.throws(() => codec.encode(shards), {
    name: 'RangeError',
    message: /shard 0 is a view from allocShards invalidated when the codec's memory grew/,
  });
});

describe('codec arguments', () => {
  test('shapes outside 1 <= k, 0 <= m, k + m <= 256 are RangeErrors naming the rule', () => {
    // Act, Assess
    assert.throws(() => createCodec(0, 2), {
      name: 'RangeError',
      message: 'dataShards must be an integer >= 1, got 0',
    });
    assert.throws(() => createCodec(2, -1), {
      name: 'RangeError',
      message: 'parityShards must be an integer >= 0, got -1',
    });
    assert.throws(() => createCodec(1.5, 1), /dataShards must be an integer >= 1, got 1.5/);
    assert.throws(() => createCodec(Number.NaN, 1), /dataShards must be an integer >= 1, got NaN/);
    assert.throws(() => createCodec(200, 57), {
      name: 'RangeError',
      message: 'dataShards + parityShards must be <= 256, got 257',
    });
    assert.throws(() => createCodec(2, 1, { kernel: 'gpu' } as never), /kernel must be/);
    assert.throws(() => createCodec(2, 1, { threads: 2 } as never), /unknown codec option/);
    assert.doesNotThrow(() => createCodec(200, 56));
  });

  test('a wrong shard count, a missing shard or unequal lengths are RangeErrors naming the rule', () => {
    // Prepare
    const codec = createCodec(2, 1);
    const four = () => new Uint8Array(4);

    // Act, Assess
    assert.throws(() => codec.encode([four(), four()]), {
      name: 'RangeError',
      message: 'encode takes k + m = 3 shards, got 2',
    });
    assert.throws(() => codec.encode([four(), new Uint8Array(5), four()]), {
      name: 'RangeError',
      message: 'all shards must have the same length: shard 1 has 5 bytes, shard 0 has 4',
    });
    assert.throws(() => codec.encode([four(), null as never, four()]), {
      name: 'RangeError',
      message: 'shard 1 must be a Uint8Array, got null',
    });
    assert.throws(() => codec.verify([four(), four()]), /verify takes k \+ m = 3 shards, got 2/);
    assert.throws(() => codec.reconstruct([four(), null]), /reconstruct takes k \+ m = 3 shards/);
    assert.throws(() => codec.reconstruct([four(), null, new Uint8Array(3)]), /same length/);
    assert.throws(
      () => codec.reconstruct([four(), four(), four()], { rebuild: [3] }),
      /rebuild lists 3, which must be the index of a shard given in place/,
    );
    assert.throws(() => codec.allocShards(-1), /shardSize must be an integer >= 0, got -1/);
  });

  test('reconstruct leaves a complete set as it is', () => {
    // Prepare
    const codec = createCodec(3, 2);
    const shards = randomShards(3, 2, 100);
    codec.encode(shards);
    const arrays = [...shards];

    // Act
    codec.reconstruct(shards);

    // Assess
    shards.forEach((s, i) => {
      assert.equal(s, arrays[i]);
    });
  });

  test('the SIMD kernel is the one in use on Node 24, with relaxed swizzle', () => {
    // Act, Assess
    assert.equal(createCodec(4, 2).kernel, 'wasm-relaxed-simd');
    assert.equal(createCodec(4, 2, { kernel: 'typescript' }).kernel, 'typescript');
  });
});

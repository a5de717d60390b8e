import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { createCodec } from '../../../shared/codec/reed-solomon.ts';
import { encodeSegment } from '../../../shared/codec/segment.ts';
import {
  cutSegments,
  decodeStream,
  encodeStream,
  type FetchedSegment,
} from '../../../shared/codec/segment-stream.ts';
import { encodeSlice } from '../../../shared/codec/slice-header.ts';
import { formatSliceName } from '../../../shared/codec/slice-name.ts';
import { TooFewShardsError } from '../../../shared/errors.ts';
import { objectIdOf } from '../../../shared/store/revision.ts';

const REVISION = '0000mhx3k2a1b2c3d4e5f6a7b8';
const name = (segment: number, pillar: number) => ({
  vault: 'default',
  objectId: objectIdOf('default', 'k'),
  revision: REVISION,
  segment,
  pillar,
});

async function* chunks(data: Uint8Array, sizes: number[]) {
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const n = Math.max(1, sizes[i++ % sizes.length] as number);
    yield data.subarray(at, at + n);
    at += n;
  }
}

async function collect(gen: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of gen) parts.push(p);
  return Buffer.concat(parts);
}

test('segments are segmentSize bytes, the last shorter, and an empty stream is one empty segment', async () => {
  // Prepare
  const lengths = async (size: number) => {
    const out: number[] = [];
    for await (const s of cutSegments(chunks(randomBytes(size), [7, 100]), 64)) out.push(s.length);
    return out;
  };
  // Act, Assess
  assert.deepEqual(await lengths(0), [0]);
  assert.deepEqual(await lengths(64), [64]);
  assert.deepEqual(await lengths(65), [64, 1]);
  assert.deepEqual(await lengths(200), [64, 64, 64, 8]);
});

/** Like `chunks`, but every chunk is written into one buffer the source reuses, as some readers do. */
async function* reusedChunks(data: Uint8Array, sizes: number[]) {
  const scratch = Buffer.alloc(150);
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const n = Math.min(Math.max(1, sizes[i++ % sizes.length] as number), data.length - at);
    scratch.set(data.subarray(at, at + n));
    yield scratch.subarray(0, n);
    scratch.fill(0xee); // What a reader reusing its buffer leaves there next.
    at += n;
  }
}

test('cut segments hold the stream bytes in both modes, from any chunks, even a source that reuses its buffer', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 97 }),
      fc.integer({ min: 0, max: 400 }),
      fc.array(fc.integer({ min: 1, max: 150 }), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      fc.boolean(),
      async (segmentSize, size, chunkSizes, reuse, reusingSource) => {
        // Prepare
        const data = randomBytes(size);
        const source = (reusingSource ? reusedChunks : chunks)(data, chunkSizes);

        // Act: in reuse mode a segment is read before the next is asked for; otherwise all are
        // kept to the end, so one that a later chunk overwrote would show.
        const got: Uint8Array[] = [];
        for await (const segment of cutSegments(source, segmentSize, { reuse }))
          got.push(reuse ? Buffer.from(segment) : segment);

        // Assess
        const count = Math.max(1, Math.ceil(size / segmentSize));
        assert.deepEqual(
          got.map((g) => g.length),
          Array.from({ length: count }, (_, i) => Math.min(segmentSize, size - i * segmentSize)),
        );
        assert.ok(Buffer.concat(got).equals(data));
      },
    ),
    { numRuns: 300 },
  );
});

test('a small object takes a small buffer, and a segment inside one chunk is not copied', async () => {
  // Prepare
  const MiB = 1024 * 1024;
  const small = randomBytes(4096);
  const whole = randomBytes(2 * MiB);

  // Act
  const [tiny] = await Array.fromAsync(
    cutSegments(chunks(small, [1000]), 8 * MiB, { reuse: true }),
  );
  const inPlace = await Array.fromAsync(
    cutSegments(chunks(whole, [2 * MiB]), MiB, { reuse: true }),
  );

  // Assess
  assert.ok(
    (tiny?.buffer.byteLength ?? 0) <= 64 * 1024,
    `a ${tiny?.buffer.byteLength} B buffer for 4 KiB`,
  );
  assert.ok(Buffer.from(tiny as Uint8Array).equals(small));
  assert.equal(inPlace.length, 2);
  for (const segment of inPlace) assert.equal(segment.buffer, whole.buffer, 'a view of the chunk');
});

test('a segment that outgrows its first buffers keeps every byte, in both modes', async () => {
  // Prepare: 64 KiB first, so a 256 KiB segment fed in odd chunks grows three times.
  const data = randomBytes(700 * 1024);

  for (const reuse of [false, true]) {
    // Act
    const got: Buffer[] = [];
    for await (const segment of cutSegments(chunks(data, [1000, 33_333]), 256 * 1024, { reuse }))
      got.push(Buffer.from(segment));

    // Assess
    assert.deepEqual(
      got.map((g) => g.length),
      [256 * 1024, 256 * 1024, 188 * 1024],
    );
    assert.ok(Buffer.concat(got).equals(data), `reuse: ${reuse}`);
  }
});

test('the streamed slices are byte for byte those of encodeSegment and encodeSlice, whatever the sizes and the chunks', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 97 }),
      fc.integer({ min: 0, max: 400 }),
      fc.array(fc.integer({ min: 1, max: 150 }), { minLength: 1, maxLength: 4 }),
      async (k, m, segmentSize, size, chunkSizes) => {
        // Prepare
        const codec = createCodec(k, m);
        const data = randomBytes(size);

        // Act
        const got: Uint8Array[][] = [];
        const stream = encodeStream(chunks(data, chunkSizes), { codec, segmentSize, name });
        for await (const segment of stream) got.push(segment.slices);

        // Assess: one segment at a time, through the two-step path.
        const count = Math.max(1, Math.ceil(size / segmentSize));
        assert.equal(got.length, count);
        for (let i = 0; i < count; i++) {
          const segment = data.subarray(i * segmentSize, (i + 1) * segmentSize);
          const expected = encodeSegment(codec, segment).map((payload, pillar) =>
            encodeSlice(
              {
                name: name(i, pillar),
                dataShards: k,
                parityShards: m,
                segmentLength: segment.length,
              },
              payload,
            ),
          );
          assert.deepEqual(
            got[i]?.map((x) => Buffer.from(x).toString('hex')),
            expected.map((x) => Buffer.from(x).toString('hex')),
          );
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('encoding overwrites whatever the parity shards held: slices built in unzeroed memory are exact', () => {
  // Prepare: the same data shards, parity once zeroed and once full of old bytes.
  const codec = createCodec(4, 2);
  const data = Array.from({ length: 4 }, () => randomBytes(4096 + 17));
  const zeroed = [...data, Buffer.alloc(4113), Buffer.alloc(4113)];
  const dirty = [...data, Buffer.alloc(4113, 0xaa), randomBytes(4113)];

  // Act
  codec.encode(zeroed);
  codec.encode(dirty);

  // Assess
  assert.deepEqual(dirty.slice(4), zeroed.slice(4));
});

test('a stream encodes to slices and decodes back exactly, with up to m slices lost or corrupt per segment', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 5000 }),
      fc.integer({ min: 16, max: 1500 }),
      fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 4 }),
      fc.infiniteStream(fc.nat()),
      async (k, m, size, segmentSize, chunkSizes, dice) => {
        // Prepare
        const codec = createCodec(k, m);
        const data = randomBytes(size);
        const encoded: FetchedSegment[] = [];
        const stream = encodeStream(chunks(data, chunkSizes), { codec, segmentSize, name });
        let summary: { size: number; sha256: string; segments: number } | undefined;
        for (;;) {
          const step = await stream.next();
          if (step.done) {
            summary = step.value;
            break;
          }
          const seg = step.value;
          const slices: Array<Uint8Array | null> = [...seg.slices];
          // Lose or corrupt up to m pillars of this segment.
          const hurt = (dice.next().value as number) % (m + 1);
          for (let h = 0; h < hurt; h++) {
            const pillar = (dice.next().value as number) % (k + m);
            const slice = slices[pillar];
            if (slice && (dice.next().value as number) % 2 === 0) {
              const copy = Uint8Array.from(slice);
              const at = (dice.next().value as number) % copy.length;
              copy[at] = (copy[at] as number) ^ 0x5a;
              slices[pillar] = copy;
            } else slices[pillar] = null;
          }
          encoded.push({
            index: seg.index,
            names: seg.slices.map((_, p) => formatSliceName(name(seg.index, p))),
            slices,
          });
        }

        // Act
        async function* replay() {
          yield* encoded;
        }
        const damage: number[] = [];
        const back = await collect(decodeStream(replay(), codec, (_s, p) => damage.push(p)));

        // Assess
        assert.deepEqual(back, data);
        assert.equal(summary?.size, size);
        assert.equal(summary?.sha256, createHash('sha256').update(data).digest('hex'));
        assert.equal(summary?.segments, Math.max(1, Math.ceil(size / segmentSize)));
      },
    ),
    { numRuns: 60 },
  );
});

test('a segment with m + 1 slices gone fails with TooFewShardsError', async () => {
  // Prepare
  const codec = createCodec(3, 2);
  const first = (
    await encodeStream(chunks(randomBytes(100), [100]), { codec, segmentSize: 100, name }).next()
  ).value as { slices: Uint8Array[] };
  async function* one() {
    yield {
      index: 0,
      names: first.slices.map((_, p) => formatSliceName(name(0, p))),
      slices: [null, null, null, first.slices[3] ?? null, first.slices[4] ?? null],
    };
  }
  // Act, Assess
  await assert.rejects(collect(decodeStream(one(), codec)), TooFewShardsError);
});

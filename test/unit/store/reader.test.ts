import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import { codecFor } from '../../../shared/codec/codecs.ts';
import { encodeSegment } from '../../../shared/codec/segment.ts';
import { encodeSlice, s3Crc32 } from '../../../shared/codec/slice-header.ts';
import { formatSliceName } from '../../../shared/codec/slice-name.ts';
import { SegmentLostError } from '../../../shared/errors.ts';
import type { IndexEntry } from '../../../shared/store/ports.ts';
import { readSegment } from '../../../shared/store/reader.ts';
import { newRevisionId, objectIdOf } from '../../../shared/store/revision.ts';
import { MemorySliceStore } from '../../helpers/memory/index.ts';

const K = 3;
const N = 5;

/** One segment of 3000 bytes in a 3-of-5 layout (shards of 1000 bytes), in memory. */
async function world(options: { missing?: number[]; slowMs?: Record<number, number> } = {}) {
  const bytes = randomBytes(3000);
  const entry: IndexEntry = {
    vault: 'unit-test',
    key: 'k',
    revision: newRevisionId(),
    objectId: objectIdOf('unit-test', 'k'),
    size: bytes.length,
    sha256: '',
    segments: 1,
    segmentSize: 4096,
    readThreshold: K,
    units: [10, 11, 12, 13, 14],
    committedAt: new Date().toISOString(),
  };
  const asked: number[] = [];
  /** Units 10 to 14 hold pillars 0 to 4; each read is noted, and a slow pillar answers late. */
  class ObservedSlices extends MemorySliceStore {
    override async get(unit: number, key: string, signal?: AbortSignal): Promise<Uint8Array> {
      const pillar = unit - 10;
      asked.push(pillar);
      const delay = options.slowMs?.[pillar];
      if (delay) {
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, delay);
          signal?.addEventListener('abort', () => {
            clearTimeout(t);
            reject(new Error('aborted'));
          });
        });
      }
      return super.get(unit, key, signal);
    }
  }
  const slices = new ObservedSlices(15);
  const shards = encodeSegment(codecFor(K, N - K), bytes);
  for (const [pillar, payload] of shards.entries()) {
    const name = { ...entry, segment: 0, pillar };
    if (!options.missing?.includes(pillar)) {
      const slice = encodeSlice(
        { name, dataShards: K, parityShards: N - K, segmentLength: 3000 },
        payload,
      );
      await slices.put(10 + pillar, formatSliceName(name), slice, s3Crc32(slice));
    }
  }
  return { bytes, entry, slices, asked };
}

/** The bytes a read returned, placed at its offset. */
function joined(read: { parts: Uint8Array[]; offset: number }) {
  return { offset: read.offset, bytes: Buffer.concat(read.parts) };
}

test('a range inside one data shard reads that slice alone, and decodes nothing', async () => {
  const w = await world();
  const read = await readSegment(
    { slices: w.slices, hedgeMs: 1000, clock: systemClock },
    w.entry,
    0,
    {
      from: 1100,
      to: 1200,
    },
  );
  const { offset, bytes } = joined(read);
  assert.deepEqual(w.asked, [1]);
  assert.equal(offset, 1000);
  assert.deepEqual(bytes.subarray(100, 200), w.bytes.subarray(1100, 1200));
  assert.deepEqual(read.damage, []);
});

test('a missing data slice turns the read into decoding from k others, and is reported', async () => {
  const w = await world({ missing: [1] });
  const read = await readSegment(
    { slices: w.slices, hedgeMs: 1000, clock: systemClock },
    w.entry,
    0,
    {
      from: 1100,
      to: 1200,
    },
  );
  const { offset, bytes } = joined(read);
  assert.equal(offset, 0);
  assert.deepEqual(bytes, w.bytes);
  assert.deepEqual(
    read.damage.map((d) => [d.pillar, d.defect]),
    [[1, 'missing']],
  );
  assert.equal(w.asked.length, 4, 'the missing pillar and then k others');
});

test('a slow data slice is hedged after the budget: the read decodes without waiting for it', async () => {
  const w = await world({ slowMs: { 0: 5000 } });
  const started = Date.now();
  const read = await readSegment({ slices: w.slices, hedgeMs: 20, clock: systemClock }, w.entry, 0);
  assert.ok(Date.now() - started < 2000, 'did not wait for the slow slice');
  assert.deepEqual(joined(read).bytes, w.bytes);
});

test('fewer than k good slices is a lost segment', async () => {
  const w = await world({ missing: [0, 2, 4] });
  await assert.rejects(
    readSegment({ slices: w.slices, hedgeMs: 1000, clock: systemClock }, w.entry, 0),
    (err: Error) => err instanceof SegmentLostError && /2 good slices, 3 needed/.test(err.message),
  );
});

test('a slice named right, with good checksums, but built for another layout is foreign: the read decodes around it', async () => {
  const w = await world();
  // Pillar 0 rewritten as a 2+3 slice of the same name and length: a valid slice, not this one.
  const name = { ...w.entry, segment: 0, pillar: 0 };
  const other = encodeSegment(codecFor(2, 3), w.bytes)[0] as Uint8Array;
  const forged = encodeSlice({ name, dataShards: 2, parityShards: 3, segmentLength: 3000 }, other);
  await w.slices.put(10, formatSliceName(name), forged, s3Crc32(forged));
  const read = await readSegment(
    { slices: w.slices, hedgeMs: 1000, clock: systemClock },
    w.entry,
    0,
  );
  assert.deepEqual(joined(read).bytes, w.bytes);
  assert.deepEqual(
    read.damage.map((d) => [d.pillar, d.defect]),
    [[0, 'foreign']],
  );
  assert.match(read.damage[0]?.detail ?? '', /header says 2\+3, .*manifest says 3\+2, 3000/);
});

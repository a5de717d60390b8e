import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { flipRandomSlices } from '../../../infra/local/chaos.ts';

const OBJECT = 'AAAAAAAAAAAAAAAAAAAAAA';
const REVISION = '00mwzpnawq2d01c69b44b4682e';
const slice = (vault: string, segment: number, pillar: number) =>
  `${vault}/${OBJECT}/${REVISION}/${String(segment).padStart(10, '0')}/${String(pillar).padStart(3, '0')}`;

/** Lays out objects the way fauxqs stores them: `<bucket>/objects/<key>.data` and `.meta.json`. */
async function store(bucketsDir: string, bucket: string, key: string, body: Buffer) {
  const base = join(bucketsDir, bucket, 'objects', ...key.split('/'));
  await mkdir(dirname(base), { recursive: true });
  await writeFile(`${base}.data`, body);
  await writeFile(`${base}.meta.json`, JSON.stringify({ key, contentLength: body.length }));
}

test('chaos flips one byte in distinct slices of the asked vault, repeatably for a seed', async () => {
  // Prepare
  const dir = await mkdtemp(join(tmpdir(), 'dsn-chaos-'));
  try {
    const units = [
      { unit: 0, bucket: 'unit-0' },
      { unit: 1, bucket: 'unit-1' },
    ];
    const original = new Map<string, Buffer>();
    for (const { unit, bucket } of units) {
      for (let segment = 0; segment < 3; segment++) {
        const body = Buffer.alloc(100, segment + 1);
        original.set(`${bucket}/${slice('photos', segment, unit)}`, body);
        await store(dir, bucket, slice('photos', segment, unit), body);
        await store(dir, bucket, slice('other', segment, unit), Buffer.alloc(100));
      }
      await store(dir, bucket, 'not-a-slice.txt', Buffer.alloc(10));
    }

    // The ledger's answer: the object key each revision was written for.
    const keyOf = async (revision: string) =>
      revision === REVISION ? 'trip/beach.jpg' : undefined;

    // Act
    const first = await flipRandomSlices(
      dir,
      units,
      { slices: 4, vault: 'photos', seed: 9 },
      keyOf,
    );
    const rotted = await Promise.all(
      first.flipped.map((f) => readFile(join(dir, f.bucket, 'objects', `${f.key}.data`))),
    );
    const again = await flipRandomSlices(
      dir,
      units,
      { slices: 4, vault: 'photos', seed: 9 },
      keyOf,
    );
    const all = await flipRandomSlices(dir, units, { slices: 50, vault: 'photos' }, keyOf);

    // Assess
    assert.equal(first.available, 6, 'only the vault slices count');
    assert.equal(first.flipped.length, 4);
    assert.equal(new Set(first.flipped.map((f) => f.key)).size, 4);
    first.flipped.forEach((f, i) => {
      assert.ok(f.key.startsWith('photos/'));
      assert.equal(f.objectKey, 'trip/beach.jpg', 'the object it hit, by key');
      assert.equal(f.vault, 'photos');
      assert.equal(f.key, slice('photos', f.segment, f.pillar));
      const before = original.get(`${f.bucket}/${f.key}`) as Buffer;
      const after = rotted[i] as Buffer;
      const differing = [...before.keys()].filter((j) => before[j] !== after[j]);
      assert.deepEqual(differing, [f.offset]);
      assert.equal((after[f.offset] as number) ^ (before[f.offset] as number), 0xff);
    });
    assert.deepEqual(again.flipped, first.flipped, 'the same seed makes the same choice');
    assert.equal(all.requested, 50);
    assert.equal(all.flipped.length, 6, 'fewer than asked: every slice there is');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('chaos with a key flips only the slices of that object', async () => {
  // Prepare: two objects (revisions) in one vault, on two units.
  const dir = await mkdtemp(join(tmpdir(), 'dsn-chaos-'));
  try {
    const units = [
      { unit: 0, bucket: 'unit-0' },
      { unit: 1, bucket: 'unit-1' },
    ];
    const other = '00mwzpnawq2d01c69b44b4682f';
    const otherSlice = (segment: number, pillar: number) =>
      slice('photos', segment, pillar).replace(REVISION, other);
    for (const { unit, bucket } of units) {
      for (let segment = 0; segment < 3; segment++) {
        await store(dir, bucket, slice('photos', segment, unit), Buffer.alloc(100, 1));
        await store(dir, bucket, otherSlice(segment, unit), Buffer.alloc(100, 2));
      }
    }
    const keyOf = async (revision: string) =>
      revision === REVISION ? 'trip/beach.jpg' : revision === other ? 'trip/dune.jpg' : undefined;

    // Act
    const hit = await flipRandomSlices(
      dir,
      units,
      { slices: 50, vault: 'photos', key: 'trip/dune.jpg' },
      keyOf,
    );
    const none = await flipRandomSlices(dir, units, { slices: 1, key: 'trip/none.jpg' }, keyOf);

    // Assess
    assert.equal(hit.available, 6, "only the object's slices count");
    assert.equal(hit.flipped.length, 6);
    for (const f of hit.flipped) {
      assert.equal(f.objectKey, 'trip/dune.jpg');
      assert.equal(f.revision, other);
    }
    assert.deepEqual(none.flipped, [], 'no slice of an object that is not there');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Listings with a delimiter over the index (shared/store/listing.ts), across pages. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IndexEntry } from '../../../shared/store/index.ts';
import { listObjects } from '../../../shared/store/listing.ts';
import { MemoryObjectIndex } from '../../helpers/memory/index.ts';

let n = 0;
function entry(key: string): IndexEntry {
  n++;
  return {
    vault: 'v',
    key,
    revision: `0000000000${String(n).padStart(16, '0')}`,
    objectId: `o${String(n).padStart(21, '0')}`,
    size: 1,
    sha256: 'x',
    segments: 1,
    segmentSize: 65536,
    readThreshold: 2,
    units: [0, 1, 2],
    committedAt: '2026-12-01T00:00:00.000Z',
  };
}

/** Every object and common prefix of `vault` under `/`, page after page of `limit`. */
async function listAll(index: MemoryObjectIndex, limit: number) {
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listObjects(index, 'v', { prefix: '', delimiter: '/', limit, cursor });
    // In key order, as S3 gives objects and common prefixes together.
    seen.push(...[...page.objects.map((o) => o.key), ...page.commonPrefixes].sort());
    cursor = page.cursor;
    pages++;
  } while (cursor !== undefined && pages < 100);
  return seen;
}

test('a folder whose first keys are all deleted is still listed when a page ends inside it', async () => {
  // Prepare: 19 one-key folders, then t/ with 1,500 deleted keys before a live one, then u.txt:
  // the 20th index call of the first page reads only deleted keys of t/ and ends inside it.
  const index = new MemoryObjectIndex();
  for (let i = 0; i < 19; i++) await index.publish(entry(`f${String(i).padStart(2, '0')}/a`));
  for (let i = 0; i < 1500; i++) {
    const key = `t/${String(i).padStart(4, '0')}`;
    await index.publish(entry(key));
    await index.remove('v', key, `ffffffffff${String(i).padStart(16, '0')}`, Date.now() + 60_000);
  }
  await index.publish(entry('t/zz'));
  await index.publish(entry('u.txt'));

  // Act
  const seen = await listAll(index, 1000);

  // Assess
  assert.deepEqual(seen, [
    ...Array.from({ length: 19 }, (_, i) => `f${String(i).padStart(2, '0')}/`),
    't/',
    'u.txt',
  ]);
});

test('a page that ends on a common prefix it listed goes on past it, never listing it twice', async () => {
  // Prepare
  const index = new MemoryObjectIndex();
  for (const key of ['a/1', 'a/2', 'b/1', 'c.txt', 'd/1', 'd/2', 'e.txt'])
    await index.publish(entry(key));

  // Act: one entry a page.
  const seen = await listAll(index, 1);

  // Assess
  assert.deepEqual(seen, ['a/', 'b/', 'c.txt', 'd/', 'e.txt']);
});

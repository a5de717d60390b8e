/**
 * The ObjectIndex contract: newer revision wins (a delete is a revision too, so a late commit
 * cannot bring a deleted key back), and listings page in key order without tombstones.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { InvalidParameterError } from '../../shared/errors.ts';
import type { IndexEntry, ObjectIndex } from '../../shared/store/index.ts';
import { type PortFactory, portTest } from './contract.ts';

/** Revisions of one key, oldest first (they sort as strings, as revision ids do). */
const r1 = '00mwzq0000aaaaaaaaaaaaaaaa';
const r2 = '00mwzq0001aaaaaaaaaaaaaaaa';
const r3 = '00mwzq0002aaaaaaaaaaaaaaaa';
const r4 = '00mwzq0003aaaaaaaaaaaaaaaa';
/** When tombstones may go (their TTL). */
const KEEP = Date.parse('2027-01-01T00:00:00Z');

export function entryOf(key: string, revision: string, vault = 'photos'): IndexEntry {
  return {
    vault,
    key,
    revision,
    objectId: 'AAAAAAAAAAAAAAAAAAAAAA',
    size: 5000,
    sha256: 'f'.repeat(64),
    segments: 2,
    segmentSize: 4096,
    readThreshold: 4,
    units: [5, 4, 3, 2, 1, 0],
    committedAt: '2026-12-01T00:00:00.000Z',
  };
}

/** Every page of a listing, as [keys, whether a cursor came with it]. */
async function pages(index: ObjectIndex, prefix: string, limit: number) {
  const out: Array<[string[], boolean]> = [];
  let cursor: string | undefined;
  do {
    const page = await index.list('photos', prefix, limit, cursor);
    out.push([page.entries.map((e) => e.key), page.cursor !== undefined]);
    cursor = page.cursor;
  } while (cursor !== undefined && out.length < 100);
  return out;
}

/** Registers the contract's tests; `factory` builds an empty index. */
export function objectIndexContract(name: string, factory: PortFactory<ObjectIndex>): void {
  const it = portTest(factory);

  describe(`ObjectIndex contract: ${name}`, () => {
    it('publish points a new key at the revision, and get returns its entry', async (index) => {
      // Act
      const published = await index.publish(entryOf('a', r1));

      // Assess
      assert.deepEqual(published, { replaced: undefined, stale: false });
      assert.deepEqual(await index.get('photos', 'a'), entryOf('a', r1));
    });

    it('get of a key never published is undefined', async (index) => {
      assert.equal(await index.get('photos', 'nothing'), undefined);
    });

    it('a newer revision replaces the entry and names the one it replaced', async (index) => {
      await index.publish(entryOf('a', r1));
      assert.deepEqual(await index.publish(entryOf('a', r2)), { replaced: r1, stale: false });
      assert.equal((await index.get('photos', 'a'))?.revision, r2);
    });

    it('an older revision is stale and changes nothing', async (index) => {
      await index.publish(entryOf('a', r2));
      assert.deepEqual(await index.publish({ ...entryOf('a', r1), size: 1 }), {
        replaced: undefined,
        stale: true,
      });
      assert.deepEqual(await index.get('photos', 'a'), entryOf('a', r2));
    });

    it('the same revision again (a redelivered task) succeeds, names itself, and changes nothing', async (index) => {
      await index.publish(entryOf('a', r1));
      assert.deepEqual(await index.publish(entryOf('a', r1)), { replaced: r1, stale: false });
      assert.deepEqual(await index.get('photos', 'a'), entryOf('a', r1));
    });

    it('of concurrent publishes of one key the newest revision is left', async (index) => {
      const results = await Promise.all(
        [r3, r1, r4, r2].map((r) => index.publish(entryOf('a', r))),
      );
      assert.equal((await index.get('photos', 'a'))?.revision, r4);
      assert.ok(results.filter((r) => !r.stale).length >= 1);
    });

    it('If-None-Match: * publishes only where no live entry is: a live key refuses it, a deleted one takes it', async (index) => {
      // Act
      const created = await index.publish(entryOf('a', r1), { ifNoneMatch: '*' });
      const again = await index.publish(entryOf('a', r2), { ifNoneMatch: '*' });
      const redelivered = await index.publish(entryOf('a', r1), { ifNoneMatch: '*' });
      await index.remove('photos', 'a', r3, KEEP);
      const afterDelete = await index.publish(entryOf('a', r4), { ifNoneMatch: '*' });

      // Assess
      assert.equal(created.stale, false);
      assert.equal(created.refused, undefined);
      assert.equal(again.refused, true);
      assert.equal(redelivered.refused, undefined, 'the same revision again is a redelivery');
      assert.equal(afterDelete.refused, undefined);
      assert.equal((await index.get('photos', 'a'))?.revision, r4);
    });

    it('If-Match publishes only over the live entry with that sha256', async (index) => {
      // Prepare
      await index.publish(entryOf('a', r1));
      const changed = { ...entryOf('a', r3), sha256: 'e'.repeat(64) };

      // Act
      const matched = await index.publish(changed, { ifMatch: 'f'.repeat(64) });
      const stale = await index.publish(entryOf('a', r4), { ifMatch: 'f'.repeat(64) });
      const any = await index.publish(entryOf('b', r2), { ifMatch: '*' });

      // Assess
      assert.deepEqual(matched, { replaced: r1, stale: false });
      assert.equal(stale.refused, true);
      assert.equal(any.refused, true, 'If-Match: * needs a live entry');
      assert.deepEqual(await index.get('photos', 'a'), changed);
      assert.equal(await index.get('photos', 'b'), undefined);
    });

    it('remove leaves a tombstone: it returns the entry once, and older revisions cannot pass it', async (index) => {
      // Prepare
      await index.publish(entryOf('a', r2));

      // Act
      const removed = await index.remove('photos', 'a', r3, KEEP);
      const again = await index.remove('photos', 'a', r3, KEEP);
      const late = await index.publish(entryOf('a', r1));
      const sameAsDelete = await index.publish(entryOf('a', r3));

      // Assess
      assert.deepEqual(removed, entryOf('a', r2));
      assert.equal(again, undefined);
      assert.deepEqual(late, { replaced: undefined, stale: true });
      assert.deepEqual(sameAsDelete, { replaced: undefined, stale: false }, 'ties go to the put');
      assert.equal((await index.get('photos', 'a'))?.revision, r3);
    });

    it('a newer revision after a delete brings the key back, replacing nothing', async (index) => {
      await index.publish(entryOf('a', r1));
      await index.remove('photos', 'a', r2, KEEP);
      assert.equal(await index.get('photos', 'a'), undefined);
      assert.deepEqual(await index.publish(entryOf('a', r3)), {
        replaced: undefined,
        stale: false,
      });
      assert.equal((await index.get('photos', 'a'))?.revision, r3);
    });

    it('newest names the live revision or the tombstone, whichever the key holds', async (index) => {
      assert.equal(await index.newest('photos', 'a'), undefined);
      await index.publish(entryOf('a', r1));
      assert.deepEqual(await index.newest('photos', 'a'), { revision: r1, deleted: false });
      await index.remove('photos', 'a', r2, KEEP);
      assert.deepEqual(await index.newest('photos', 'a'), { revision: r2, deleted: true });
      await index.publish(entryOf('a', r3));
      assert.deepEqual(await index.newest('photos', 'a'), { revision: r3, deleted: false });
      assert.equal(await index.newest('other', 'a'), undefined, 'vaults are separate');
    });

    it('a remove older than the entry changes nothing', async (index) => {
      await index.publish(entryOf('a', r2));
      assert.equal(await index.remove('photos', 'a', r1, KEEP), undefined);
      assert.equal((await index.get('photos', 'a'))?.revision, r2);
    });

    it('a remove of a key that holds nothing writes nothing: no tombstone piles up', async (index) => {
      // Never published, then published and removed: a second remove finds nothing either.
      assert.equal(await index.remove('photos', 'a', r2, KEEP), undefined);
      assert.deepEqual(await index.publish(entryOf('a', r1)), {
        replaced: undefined,
        stale: false,
      });
      assert.deepEqual(await index.remove('photos', 'a', r3, KEEP), entryOf('a', r1));
      assert.equal(await index.remove('photos', 'a', r4, KEEP), undefined);
      // The first tombstone (r3) still holds off r2.
      assert.deepEqual(await index.publish(entryOf('a', r2)), { replaced: undefined, stale: true });
    });

    it('setScanState records the state on the revision the key points at, and on no other', async (index) => {
      // Prepare: r2 is live; the writer and a pending state came with it.
      await index.publish({ ...entryOf('a', r2), writer: 'K1', scanState: 'pending' });

      // Act
      const older = await index.setScanState('photos', 'a', r1, 'clean');
      const infected = await index.setScanState('photos', 'a', r2, 'infected', 'Eicar');
      const again = await index.setScanState('photos', 'a', r2, 'infected', 'Eicar');
      const never = await index.setScanState('photos', 'b', r2, 'clean');

      // Assess
      assert.deepEqual([older, infected, again, never], [false, true, true, false]);
      assert.deepEqual(await index.get('photos', 'a'), {
        ...entryOf('a', r2),
        writer: 'K1',
        scanState: 'infected',
        scanDetail: 'Eicar',
      });
      assert.equal(await index.get('photos', 'b'), undefined);
      const [listed] = (await index.list('photos', '', 10)).entries;
      assert.equal(listed?.scanState, 'infected');
    });

    it('a state without detail drops the old detail; a deleted key takes no state', async (index) => {
      // Prepare
      await index.publish(entryOf('a', r1));
      await index.setScanState('photos', 'a', r1, 'skipped', 'too large');

      // Act
      await index.setScanState('photos', 'a', r1, 'clean');
      const cleaned = await index.get('photos', 'a');
      await index.remove('photos', 'a', r2, KEEP);
      const onTombstone = await index.setScanState('photos', 'a', r2, 'clean');

      // Assess
      assert.deepEqual(cleaned, { ...entryOf('a', r1), scanState: 'clean' });
      assert.equal(onTombstone, false);
      assert.equal(await index.get('photos', 'a'), undefined);
    });

    it('vaults are separate', async (index) => {
      await index.publish(entryOf('a', r2, 'photos'));
      assert.deepEqual(await index.publish(entryOf('a', r1, 'music')), {
        replaced: undefined,
        stale: false,
      });
      assert.equal((await index.get('music', 'a'))?.revision, r1);
      assert.deepEqual((await index.list('music', '', 10)).entries, [entryOf('a', r1, 'music')]);
    });

    it('list pages through a prefix in key order, without tombstones, with a cursor until the end', async (index) => {
      // Prepare
      for (const key of ['a/5', 'a/1', 'a/3', 'a/2', 'a/4', 'b/1', 'a']) {
        await index.publish(entryOf(key, r1));
      }
      await index.remove('photos', 'a/2', r2, KEEP);

      // Act
      const byTwo = await pages(index, 'a/', 2);
      const byThree = await pages(index, 'a/', 3);
      const whole = await index.list('photos', '', 100);

      // Assess: a page carries a cursor exactly when more may follow.
      assert.deepEqual(byTwo, [
        [['a/1', 'a/3'], true],
        [['a/4', 'a/5'], false],
      ]);
      assert.deepEqual(byThree, [
        [['a/1', 'a/3', 'a/4'], true],
        [['a/5'], false],
      ]);
      assert.deepEqual(
        whole.entries.map((e) => e.key),
        ['a', 'a/1', 'a/3', 'a/4', 'a/5', 'b/1'],
      );
      assert.equal(whole.cursor, undefined);
      assert.deepEqual(whole.entries[1], entryOf('a/1', r1));
    });

    it('a page of tombstones does not end a listing early', async (index) => {
      // Prepare
      for (const key of ['t/1', 't/2', 't/3', 't/4']) await index.publish(entryOf(key, r1));
      for (const key of ['t/1', 't/2', 't/3']) await index.remove('photos', key, r2, KEEP);

      // Act
      const page = await index.list('photos', 't/', 2);

      // Assess
      assert.deepEqual(
        page.entries.map((e) => e.key),
        ['t/4'],
      );
      assert.equal(page.cursor, undefined);
    });

    it('a listing call reads a bounded number of items: a long run of tombstones ends the page early, with a cursor past them', async (index) => {
      // Prepare: 1,010 deleted keys, then one live key after them.
      const dead = Array.from({ length: 1010 }, (_, i) => `d/${String(i).padStart(4, '0')}`);
      for (const key of dead) await index.publish(entryOf(key, r1));
      for (const key of dead) await index.remove('photos', key, r2, KEEP);
      await index.publish(entryOf('d/zz', r1));

      // Act
      const first = await index.list('photos', 'd/', 5);
      const second = await index.list('photos', 'd/', 5, first.cursor);

      // Assess: the first call gave up on tombstones, empty but with a cursor; the next found it.
      assert.deepEqual(first.entries, []);
      assert.notEqual(first.cursor, undefined);
      assert.deepEqual(
        second.entries.map((e) => e.key),
        ['d/zz'],
      );
      assert.equal(second.cursor, undefined);
    });

    it('keys list in UTF-8 byte order', async (index) => {
      // Prepare
      const keys = ['u/😀', 'u/z', 'u/\uFFFD', 'u/é', 'u/Z', 'u/~'];
      for (const key of keys) await index.publish(entryOf(key, r1));

      // Act
      const listed = await index.list('photos', 'u/', 100);

      // Assess: as bytes, U+FFFD (EF BF BD) comes before an emoji (F0 ...), unlike UTF-16.
      assert.deepEqual(
        listed.entries.map((e) => e.key),
        ['u/Z', 'u/z', 'u/~', 'u/é', 'u/\uFFFD', 'u/😀'],
      );
    });

    it('a cursor that is not one of this listing is refused, naming the cursor', async (index) => {
      // Prepare
      for (const key of ['a/1', 'a/2', 'b/1']) await index.publish(entryOf(key, r1));
      const other = (await index.list('photos', 'a/', 1)).cursor;

      // Act / Assess
      for (const cursor of ['not-a-cursor', other as string]) {
        await assert.rejects(
          index.list('photos', 'b/', 1, cursor),
          (err: unknown) => err instanceof InvalidParameterError && err.field === 'cursor',
        );
      }
    });
  });
}

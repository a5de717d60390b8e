/** The SliceStore contract: what the writer, the units, the reader and the rebuilder rely on. */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { s3Crc32 } from '../../shared/codec/index.ts';
import { SliceNotFoundError } from '../../shared/errors.ts';
import type { SliceStore, StoredSlice } from '../../shared/store/index.ts';
import { type ContractOptions, type PortFactory, portTest } from './contract.ts';

/**
 * - `checksum`: the store checks a PUT's body against its CRC-32 on arrival.
 * - `keyOrder`: listings come in S3's order, by UTF-8 bytes (slice names mix cases and `-_`).
 */
export type SliceStoreGap = 'checksum' | 'keyOrder';

const bytes = (text: string) => new Uint8Array(Buffer.from(text));
const text = (body: Uint8Array) => Buffer.from(body).toString();

async function listed(
  store: SliceStore,
  unit: number,
  prefix: string,
  after?: string,
): Promise<StoredSlice[]> {
  const found: StoredSlice[] = [];
  for await (const slice of store.list(unit, prefix, after)) found.push(slice);
  return found;
}

/** Registers the contract's tests; `factory` builds an empty store of at least two units. */
export function sliceStoreContract(
  name: string,
  factory: PortFactory<SliceStore>,
  options: ContractOptions<SliceStoreGap> = {},
): void {
  const it = portTest(factory, options);

  describe(`SliceStore contract: ${name}`, () => {
    it('put stores the bytes; get returns them and head their size and CRC-32', async (store) => {
      // Prepare
      const body = bytes('slice zero');

      // Act
      await store.put(0, 'v/o/r/0', body, s3Crc32(body));

      // Assess
      assert.equal(text(await store.get(0, 'v/o/r/0')), 'slice zero');
      assert.deepEqual(await store.head(0, 'v/o/r/0'), { size: 10, crc32: s3Crc32(body) });
    });

    it('put replaces what the key held', async (store) => {
      await store.put(0, 'k', bytes('first'), s3Crc32(bytes('first')));
      await store.put(0, 'k', bytes('second!'), s3Crc32(bytes('second!')));
      assert.equal(text(await store.get(0, 'k')), 'second!');
      assert.equal((await store.head(0, 'k'))?.size, 7);
    });

    it('the store keeps its own copy of the bytes', async (store) => {
      // Prepare
      const body = bytes('abc');
      await store.put(0, 'k', body, s3Crc32(body));

      // Act: the caller reuses its buffer, and scribbles on what it read.
      body.fill(0);
      (await store.get(0, 'k')).fill(0);

      // Assess
      assert.equal(text(await store.get(0, 'k')), 'abc');
    });

    it(
      'a body that does not match its CRC-32 is refused, and nothing is stored',
      async (store) => {
        // Prepare
        await store.put(0, 'held', bytes('good'), s3Crc32(bytes('good')));
        const wrong = s3Crc32(bytes('other bytes'));

        // Act / Assess
        await assert.rejects(store.put(0, 'new', bytes('rotten'), wrong));
        await assert.rejects(store.create(0, 'new2', bytes('rotten'), wrong));
        await assert.rejects(store.put(0, 'held', bytes('rotten'), wrong));
        assert.equal(await store.head(0, 'new'), undefined);
        assert.equal(await store.head(0, 'new2'), undefined);
        assert.equal(text(await store.get(0, 'held')), 'good');
      },
      'checksum',
    );

    it('create stores a new key; a second create answers exists and leaves the first bytes', async (store) => {
      // Act
      const first = await store.create(0, 'k', bytes('first'), s3Crc32(bytes('first')));
      const second = await store.create(0, 'k', bytes('second'), s3Crc32(bytes('second')));

      // Assess
      assert.equal(first, 'created');
      assert.equal(second, 'exists');
      assert.equal(text(await store.get(0, 'k')), 'first');
    });

    it('create over a key that put wrote answers exists', async (store) => {
      await store.put(0, 'k', bytes('put'), s3Crc32(bytes('put')));
      assert.equal(await store.create(0, 'k', bytes('c'), s3Crc32(bytes('c'))), 'exists');
      assert.equal(text(await store.get(0, 'k')), 'put');
    });

    it('of concurrent creates of one key exactly one is created, and its bytes stay', async (store) => {
      // Prepare
      const bodies = ['a', 'bb', 'ccc', 'dddd'].map(bytes);

      // Act
      const answers = await Promise.all(bodies.map((b) => store.create(1, 'k', b, s3Crc32(b))));

      // Assess
      assert.deepEqual(answers.filter((a) => a === 'created').length, 1);
      const winner = bodies[answers.indexOf('created')] as Uint8Array;
      assert.equal(text(await store.get(1, 'k')), text(winner));
    });

    it('each unit is a store of its own', async (store) => {
      await store.put(0, 'k', bytes('on 0'), s3Crc32(bytes('on 0')));
      assert.equal(await store.head(1, 'k'), undefined);
      assert.equal(await store.create(1, 'k', bytes('on 1'), s3Crc32(bytes('on 1'))), 'created');
      assert.equal(text(await store.get(0, 'k')), 'on 0');
      assert.equal(text(await store.get(1, 'k')), 'on 1');
    });

    it('get of an absent key throws SliceNotFoundError naming the unit and the key', async (store) => {
      await assert.rejects(
        store.get(1, 'v/none'),
        (err: unknown) =>
          err instanceof SliceNotFoundError && err.unit === 1 && err.key === 'v/none',
      );
    });

    it('head of an absent key is undefined', async (store) => {
      assert.equal(await store.head(0, 'v/none'), undefined);
    });

    it('get with an aborted signal is abandoned', async (store) => {
      await store.put(0, 'k', bytes('x'), s3Crc32(bytes('x')));
      await assert.rejects(store.get(0, 'k', AbortSignal.abort()), { name: 'AbortError' });
    });

    it('list yields the keys under a prefix in key order with their sizes, after startAfter', async (store) => {
      // Prepare
      for (const key of ['v/b/2', 'v/a/1', 'v/b/10', 'v/b/1', 'w/b/1', 'v/bz']) {
        await store.put(0, key, bytes(key), s3Crc32(bytes(key)));
      }
      await store.put(1, 'v/b/3', bytes('x'), s3Crc32(bytes('x')));

      // Act
      const all = await listed(store, 0, 'v/b/');
      const rest = await listed(store, 0, 'v/b/', 'v/b/10');
      const none = await listed(store, 0, 'x/');

      // Assess
      assert.deepEqual(
        all.map((s) => [s.key, s.size]),
        [
          ['v/b/1', 5],
          ['v/b/10', 6],
          ['v/b/2', 5],
        ],
      );
      assert.ok(all.every((s) => s.lastModified instanceof Date));
      assert.deepEqual(
        rest.map((s) => s.key),
        ['v/b/2'],
      );
      assert.deepEqual(none, []);
    });

    it(
      'keys list by their UTF-8 bytes: upper case before "_" before lower case',
      async (store) => {
        // Prepare: object ids are base64url, so slice keys mix all of these.
        const keys = ['v/a', 'v/_', 'v/B', 'v/-', 'v/9', 'v/Z', 'v/z'];
        for (const key of keys) await store.put(0, key, bytes(key), s3Crc32(bytes(key)));

        // Act
        const all = await listed(store, 0, 'v/');
        const afterUpper = await listed(store, 0, 'v/', 'v/Z');

        // Assess
        assert.deepEqual(
          all.map((s) => s.key),
          ['v/-', 'v/9', 'v/B', 'v/Z', 'v/_', 'v/a', 'v/z'],
        );
        assert.deepEqual(
          afterUpper.map((s) => s.key),
          ['v/_', 'v/a', 'v/z'],
        );
      },
      'keyOrder',
    );

    it('more keys than one S3 page: list yields them all, and delete removes them all', async (store) => {
      // Prepare: 1001 keys (S3 lists and deletes 1000 at a time).
      const keys = Array.from({ length: 1001 }, (_, i) => `p/${String(i).padStart(4, '0')}`);
      const body = bytes('.');
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => store.put(0, k, body, s3Crc32(body))));
      }

      // Act
      const found = await listed(store, 0, 'p/');
      await store.delete(0, keys);
      const left = await listed(store, 0, 'p/');

      // Assess
      assert.deepEqual(
        found.map((s) => s.key),
        keys,
      );
      assert.deepEqual(left, []);
    });

    it('delete removes the keys; absent keys and an empty list are not an error', async (store) => {
      // Prepare
      await store.put(0, 'a', bytes('a'), s3Crc32(bytes('a')));
      await store.put(0, 'b', bytes('b'), s3Crc32(bytes('b')));

      // Act
      await store.delete(0, ['a', 'never-there']);
      await store.delete(0, []);

      // Assess
      assert.equal(await store.head(0, 'a'), undefined);
      assert.equal(text(await store.get(0, 'b')), 'b');
    });

    it('a unit outside the pool is refused with a RangeError', async (store) => {
      const body = bytes('x');
      await assert.rejects(store.put(256, 'k', body, s3Crc32(body)), RangeError);
      await assert.rejects(store.get(256, 'k'), RangeError);
      await assert.rejects(listed(store, 256, ''), RangeError);
    });
  });
}

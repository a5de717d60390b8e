/**
 * Puts dynalite's secondary indexes back in step with their tables before it serves.
 *
 * dynalite writes an item's index entries and then the item itself as separate LevelDB writes
 * (db/index.js `updateIndexes`, then the item's put or delete). A local cloud killed between
 * the two leaves an index that disagrees with its table for good: an index entry deleted while
 * the item still carries the index key, a new entry beside the old item, or an entry whose item
 * is gone. DynamoDB's indexes always converge on their table; this one would not, so a query of
 * the index misses an item a consistent read of the table shows. (A replication job lost a
 * running task that way: the worker's `done` had removed its `openJob` entry, the kill came
 * before the item's write, and the sparse index never showed the task again.)
 *
 * So on start, with dynalite's store still closed, every index of every table is recomputed
 * from the table's items with dynalite's own `getIndexActions`, and what differs is written in
 * one LevelDB batch. No library does this; it reads dynalite's on-disk layout (4.x: one
 * LevelDB, keys prefixed `table~`, `item-<table>~`, `index-<global|local>~<table>~<index>~`).
 */

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dynaliteMain = require.resolve('dynalite');
const fromDynalite = createRequire(dynaliteMain);

interface LevelStore {
  open(): Promise<void>;
  close(): Promise<void>;
  getMany(keys: string[]): Promise<unknown[]>;
  iterator(range: { gte: string; lt: string }): AsyncIterable<[string, unknown]>;
  batch(
    ops: Array<{ type: 'put'; key: string; value: unknown } | { type: 'del'; key: string }>,
  ): Promise<void>;
}

interface IndexDescription {
  IndexName: string;
}

interface TableDescription {
  TableName: string;
  GlobalSecondaryIndexes?: IndexDescription[];
  LocalSecondaryIndexes?: IndexDescription[];
}

type Item = Record<string, unknown>;

interface DynaliteDb {
  /** The index entries an item has (dynalite's own rule: every key attribute present). */
  getIndexActions(
    indexes: IndexDescription[],
    existingItem: undefined,
    item: Item,
    table: TableDescription,
  ): { puts: Array<{ key: string; item: Item }> };
  /** The item key of anything holding the table's key attributes (an index entry does). */
  createKey(item: Item, table: TableDescription): string;
}

const { Level } = fromDynalite('level') as {
  Level: new (path: string, opts: { valueEncoding: 'json' }) => LevelStore;
};
const dynaliteDb = fromDynalite('./db/index.js') as DynaliteDb;

/** What was put right in one index. */
export interface IndexRepair {
  table: string;
  index: string;
  /** Entries written: missing, or holding another version of their item. */
  put: number;
  /** Entries removed: their item is gone, or no longer carries the index's key. */
  removed: number;
}

/** The range of every key that starts with `prefix` (which ends in `~`). */
function under(prefix: string): { gte: string; lt: string } {
  // `~` is 0x7e: the keys from `prefix` up to the same text ending in 0x7f are those under it.
  return { gte: prefix, lt: `${prefix.slice(0, -1)}\x7f` };
}

/** `source` in arrays of up to `size`, for reads of many keys at once. */
async function* chunks<T>(source: AsyncIterable<T>, size = 1000): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const x of source) {
    chunk.push(x);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * The same JSON value, whatever the order of object keys. Not `util.isDeepStrictEqual`: that
 * compares prototypes, and dynalite builds a projected entry (`KEYS_ONLY`, `INCLUDE`) on a null
 * prototype, where the one read back from LevelDB is a plain object, so every such entry would
 * be rewritten, and reported, at each start.
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) &&
      sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

/**
 * Recomputes the secondary indexes of every table in dynalite's store at `path` and writes what
 * differs, in one batch. The store must not be open elsewhere (LevelDB locks it). Returns the
 * indexes that needed repair.
 *
 * It streams: the items are checked against their expected entries, then the entries against
 * their items, a thousand at a time by reads of many keys, so memory follows the repairs, not the
 * store.
 */
export async function repairIndexes(path: string): Promise<IndexRepair[]> {
  const store = new Level(path, { valueEncoding: 'json' });
  await store.open();
  try {
    const repairs: IndexRepair[] = [];
    const ops: Parameters<LevelStore['batch']>[0] = [];
    const tables: TableDescription[] = [];
    for await (const [, table] of store.iterator(under('table~')))
      tables.push(table as TableDescription);
    for (const table of tables) {
      const indexes = [
        ...(table.GlobalSecondaryIndexes ?? []).map((index) => ({ index, kind: 'global' })),
        ...(table.LocalSecondaryIndexes ?? []).map((index) => ({ index, kind: 'local' })),
      ].map(({ index, kind }) => ({
        index,
        prefix: `index-${kind}~${table.TableName}~${index.IndexName}~`,
        repair: { table: table.TableName, index: index.IndexName, put: 0, removed: 0 },
      }));
      if (indexes.length === 0) continue;
      const itemPrefix = `item-${table.TableName}~`;
      // What dynalite would hold had each item's last write completed: every entry is there...
      for await (const items of chunks(store.iterator(under(itemPrefix)))) {
        for (const { index, prefix, repair } of indexes) {
          const wanted = items.flatMap(
            ([, item]) => dynaliteDb.getIndexActions([index], undefined, item as Item, table).puts,
          );
          const held = await store.getMany(wanted.map((w) => prefix + w.key));
          for (const [n, want] of wanted.entries()) {
            if (sameValue(held[n], want.item)) continue;
            ops.push({ type: 'put', key: prefix + want.key, value: want.item });
            repair.put++;
          }
        }
      }
      // ...and no other: an entry whose item is gone, or sits under another key of the index now.
      for (const { index, prefix, repair } of indexes) {
        for await (const entries of chunks(store.iterator(under(prefix)))) {
          const items = await store.getMany(
            entries.map(([, entry]) => itemPrefix + dynaliteDb.createKey(entry as Item, table)),
          );
          for (const [n, [key]] of entries.entries()) {
            const item = items[n] as Item | undefined;
            const wanted =
              item !== undefined &&
              dynaliteDb
                .getIndexActions([index], undefined, item, table)
                .puts.some((p) => prefix + p.key === key);
            if (wanted) continue;
            ops.push({ type: 'del', key });
            repair.removed++;
          }
        }
      }
      for (const { repair } of indexes) if (repair.put + repair.removed > 0) repairs.push(repair);
    }
    if (ops.length > 0) await store.batch(ops);
    return repairs;
  } finally {
    await store.close();
  }
}

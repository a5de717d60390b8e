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

type IndexActions = (
  indexes: IndexDescription[],
  existingItem: unknown,
  item: unknown,
  table: TableDescription,
) => { puts: Array<{ index: string; key: string; item: unknown }> };

const { Level } = fromDynalite('level') as {
  Level: new (path: string, opts: { valueEncoding: 'json' }) => LevelStore;
};
const { getIndexActions } = fromDynalite('./db/index.js') as { getIndexActions: IndexActions };

/** What was put right in one index. */
export interface IndexRepair {
  table: string;
  index: string;
  /** Entries written: missing, or holding another version of their item. */
  put: number;
  /** Entries removed: their item is gone, or no longer carries the index's key. */
  removed: number;
}

/** Every key that starts with `prefix` (which ends in `~`), with its value. */
async function under(store: LevelStore, prefix: string): Promise<Map<string, unknown>> {
  // `~` is 0x7e: the keys from `prefix` up to the same text ending in 0x7f are those under it.
  const range = { gte: prefix, lt: `${prefix.slice(0, -1)}\x7f` };
  const found = new Map<string, unknown>();
  for await (const [key, value] of store.iterator(range))
    found.set(key.slice(prefix.length), value);
  return found;
}

/** The same JSON value, whatever the order of object keys. */
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
 */
export async function repairIndexes(path: string): Promise<IndexRepair[]> {
  const store = new Level(path, { valueEncoding: 'json' });
  await store.open();
  try {
    const repairs: IndexRepair[] = [];
    const ops: Parameters<LevelStore['batch']>[0] = [];
    for (const table of (await under(store, 'table~')).values() as Iterable<TableDescription>) {
      const kinds = [
        ['global', table.GlobalSecondaryIndexes ?? []],
        ['local', table.LocalSecondaryIndexes ?? []],
      ] as const;
      if (kinds.every(([, indexes]) => indexes.length === 0)) continue;
      const items = await under(store, `item-${table.TableName}~`);
      for (const [kind, indexes] of kinds) {
        for (const index of indexes) {
          // What dynalite would hold had each item's last write completed.
          const want = new Map<string, unknown>();
          for (const item of items.values())
            for (const put of getIndexActions([index], undefined, item, table).puts)
              want.set(put.key, put.item);
          const prefix = `index-${kind}~${table.TableName}~${index.IndexName}~`;
          const have = await under(store, prefix);
          const repair = { table: table.TableName, index: index.IndexName, put: 0, removed: 0 };
          for (const key of have.keys()) {
            if (want.has(key)) continue;
            ops.push({ type: 'del', key: prefix + key });
            repair.removed++;
          }
          for (const [key, value] of want) {
            if (have.has(key) && sameValue(have.get(key), value)) continue;
            ops.push({ type: 'put', key: prefix + key, value });
            repair.put++;
          }
          if (repair.put + repair.removed > 0) repairs.push(repair);
        }
      }
    }
    if (ops.length > 0) await store.batch(ops);
    return repairs;
  } finally {
    await store.close();
  }
}

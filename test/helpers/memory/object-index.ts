/**
 * ObjectIndex in memory, as DynamoObjectIndex keeps it: one item per (vault, key) in key order,
 * replaced only by a revision at least as new (a delete is a tombstone carrying its revision),
 * and listings paged the way the adapter pages a DynamoDB Query, tombstones filtered after the
 * page's limit, cursors included.
 */
import { MAX_LISTING_READS, toEntry } from '../../../shared/aws/store/object-index.ts';
import {
  decodeListingCursor,
  encodeListingCursor,
  type IndexEntry,
  type ObjectIndex,
  type Precondition,
  type ScanState,
} from '../../../shared/store/index.ts';
import { byUtf8, document } from './documents.ts';

type Item = Partial<IndexEntry> & {
  vault: string;
  key: string;
  revision: string;
  deleted: boolean;
};

/** One Query page: what it evaluated (up to `limit`), and where it stopped if it hit it. */
interface Page {
  items: Item[];
  lastEvaluatedKey?: string;
}

export class MemoryObjectIndex implements ObjectIndex {
  /** vault -> key -> item */
  private readonly items = new Map<string, Map<string, Item>>();

  /** Puts `item` unless a newer revision is there (the same revision again wins). */
  private putIfNewer(item: Item): { old?: Item; stale: boolean } {
    let keys = this.items.get(item.vault);
    if (!keys) {
      keys = new Map();
      this.items.set(item.vault, keys);
    }
    const old = keys.get(item.key);
    if (old && byUtf8(old.revision, item.revision) > 0) return { stale: true };
    keys.set(item.key, document(item));
    return { old, stale: false };
  }

  async publish(
    entry: IndexEntry,
    precondition?: Precondition,
  ): Promise<{ replaced?: string; stale: boolean; refused?: boolean }> {
    if (precondition) {
      // The adapter's condition: the same revision again, or newer and the precondition holds.
      const old = this.items.get(entry.vault)?.get(entry.key);
      const live = old && old.deleted !== true ? old : undefined;
      const again = old?.revision === entry.revision;
      const holds =
        'ifNoneMatch' in precondition
          ? live === undefined
          : live !== undefined &&
            (precondition.ifMatch === '*' || live.sha256 === precondition.ifMatch);
      const newer = !old || byUtf8(old.revision, entry.revision) <= 0;
      if (!again && !(newer && holds)) return { stale: false, refused: true };
    }
    const { old, stale } = this.putIfNewer({ ...entry, deleted: false });
    return { replaced: old && old.deleted !== true ? old.revision : undefined, stale };
  }

  async get(vault: string, key: string): Promise<IndexEntry | undefined> {
    const item = this.items.get(vault)?.get(key);
    return item && item.deleted !== true ? toEntry(item) : undefined;
  }

  async newest(
    vault: string,
    key: string,
  ): Promise<{ revision: string; deleted: boolean } | undefined> {
    const item = this.items.get(vault)?.get(key);
    return item && { revision: item.revision, deleted: item.deleted === true };
  }

  async setScanState(
    vault: string,
    key: string,
    revision: string,
    state: ScanState,
    detail?: string,
  ): Promise<boolean> {
    const item = this.items.get(vault)?.get(key);
    if (!item || item.deleted || item.revision !== revision) return false;
    const { scanDetail: _old, ...rest } = item;
    this.items
      .get(vault)
      ?.set(
        key,
        document({ ...rest, scanState: state, ...(detail ? { scanDetail: detail } : {}) }),
      );
    return true;
  }

  /** Tombstones' expiry (epoch ms) by vault and key, as the adapter's `ttl` attribute. */
  readonly tombstoneExpiry = new Map<string, number>();

  async remove(
    vault: string,
    key: string,
    revision: string,
    keepUntil: number,
  ): Promise<IndexEntry | undefined> {
    const old = this.items.get(vault)?.get(key);
    // Only a live entry older than the delete gives way (the adapter's condition).
    if (!old || old.deleted || byUtf8(old.revision, revision) >= 0) return undefined;
    this.putIfNewer({ vault, key, revision, deleted: true });
    this.tombstoneExpiry.set(`${vault}/${key}`, keepUntil);
    return toEntry(old);
  }

  /** A Query of `vault` for keys beginning with `prefix`, after `start`, of at most `limit` items. */
  private query(vault: string, prefix: string, limit: number, start?: string): Page {
    const evaluated = [...(this.items.get(vault) ?? new Map<string, Item>())]
      .filter(([k]) => k.startsWith(prefix) && (start === undefined || byUtf8(k, start) > 0))
      .sort(([a], [b]) => byUtf8(a, b))
      .slice(0, limit);
    const items = evaluated.map(([, item]) => item);
    return {
      items,
      lastEvaluatedKey: evaluated.length === limit ? evaluated.at(-1)?.[0] : undefined,
    };
  }

  async list(
    vault: string,
    prefix: string,
    limit: number,
    cursor?: string,
  ): Promise<{ entries: IndexEntry[]; cursor?: string }> {
    let start: string | undefined;
    if (cursor) start = decodeListingCursor(cursor, prefix);
    const entries: IndexEntry[] = [];
    // As the adapter: whole chunks, at most MAX_LISTING_READS items read per call.
    let reads = 0;
    let lastRead: string | undefined;
    let full = false;
    while (!full && reads < MAX_LISTING_READS) {
      const page = this.query(
        vault,
        prefix,
        Math.min(MAX_LISTING_READS - reads, Math.max(limit - entries.length, 100)),
        start,
      );
      reads += page.items.length;
      start = page.lastEvaluatedKey;
      for (const item of page.items.filter((i) => i.deleted === false)) {
        if (entries.length === limit) {
          full = true;
          break;
        }
        entries.push(toEntry(item));
      }
      if (!full && entries.length === limit && start !== undefined) full = true;
      if (start === undefined) break;
      lastRead = start;
    }
    const after = full ? entries.at(-1)?.key : start !== undefined ? lastRead : undefined;
    return {
      entries,
      cursor: after !== undefined ? encodeListingCursor(after) : undefined,
    };
  }
}

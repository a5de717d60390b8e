/**
 * Ledger in memory, item for item as DynamoLedger keeps it: a `meta` item per revision and a
 * `seg#N` tally item per segment, tallies and done segments as sets, state flips as
 * conditional writes, and the sparse `due` index (`janitor = "due"`, by `dueAt`). Writes the
 * adapter makes unconditionally behave here as they do on DynamoDB, edge cases included (an
 * update of a revision that is gone creates a bare item, as an UpdateItem does).
 */
import { tallyAfter, toRecord } from '../../../shared/aws/store/ledger-items.ts';
import {
  dispersingKey,
  type Ledger,
  type RevisionRecord,
  type SegmentJudge,
  type SegmentTally,
  type SegmentVotes,
  type WrittenScan,
} from '../../../shared/store/index.ts';
import {
  byUtf8,
  conditionFailed,
  document,
  nonEmptySet,
  ValidationException,
} from './documents.ts';

const META = 'meta';
const DUE = 'due';

type Item = Record<string, unknown>;

/** ADD of a set: adds to the item's set, creating it when absent. */
/** The commit's flip, as both commit writes make it: committed at `at`, off the janitor's list. */
function committed(meta: Item, at: Date): void {
  meta.state = 'committed';
  meta.committedAt = at.toISOString();
  delete meta.janitor;
  delete meta.dueAt;
  delete meta.dispersing;
}

function add<T>(item: Item, attribute: string, values: Set<T>): void {
  const current = item[attribute];
  item[attribute] = new Set([...(current instanceof Set ? (current as Set<T>) : []), ...values]);
}

export class MemoryLedger implements Ledger {
  /** revision -> part -> item */
  private readonly items = new Map<string, Map<string, Item>>();

  private item(revision: string, part: string): Item | undefined {
    return this.items.get(revision)?.get(part);
  }

  /** The item at the key, created bare as an UpdateItem creates it. */
  private upsert(revision: string, part: string): Item {
    let parts = this.items.get(revision);
    if (!parts) {
      parts = new Map();
      this.items.set(revision, parts);
    }
    let item = parts.get(part);
    if (!item) {
      item = { revision, part };
      parts.set(part, item);
    }
    return item;
  }

  async createPending(record: RevisionRecord, dueAt: number): Promise<void> {
    if (this.item(record.revision, META)) throw conditionFailed(`revision ${record.revision}`);
    const { doneSegments: _done, failedUnits: _failed, ...rest } = record;
    Object.assign(this.upsert(record.revision, META), document(rest), {
      part: META,
      janitor: DUE,
      dueAt,
    });
  }

  async get(revision: string): Promise<RevisionRecord | undefined> {
    const meta = this.item(revision, META);
    return meta ? toRecord(meta) : undefined;
  }

  async openSegment(
    revision: string,
    segment: number,
    judge: SegmentJudge,
    crc32?: string[],
  ): Promise<void> {
    Object.assign(this.upsert(revision, `seg#${segment}`), {
      vault: judge.vault,
      width: judge.width,
      writeThreshold: judge.writeThreshold,
      ...(crc32 ? { crc32: [...crc32] } : {}),
    });
  }

  async announcedChecksums(revision: string): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const [part, item] of this.items.get(revision) ?? [])
      if (part.startsWith('seg#') && Array.isArray(item.crc32))
        out.set(Number(part.slice(4)), [...(item.crc32 as string[])]);
    return out;
  }

  async tally(
    revision: string,
    segment: number,
    votes: SegmentVotes,
  ): Promise<SegmentTally | undefined> {
    if (votes.favorable.length === 0 && votes.unfavorable.length === 0)
      throw new RangeError('tally needs at least one favorable or unfavorable pillar');
    const seg = this.item(revision, `seg#${segment}`);
    // Only an open segment counts: a purged revision's late status must not recreate it.
    if (!seg || seg.vault !== votes.vault) return undefined;
    const after = tallyAfter(seg, votes);
    if (votes.favorable.length > 0) add(seg, 'favorable', new Set(votes.favorable.map(String)));
    if (votes.unfavorable.length > 0)
      add(seg, 'unfavorable', new Set(votes.unfavorable.map(String)));
    const meta = this.item(revision, META);
    if (votes.failedUnits.length > 0 && meta) add(meta, 'failedUnits', new Set(votes.failedUnits));
    return { vault: String(seg.vault), ...after };
  }

  async markSegmentsDone(
    revision: string,
    segments: number[],
  ): Promise<RevisionRecord | undefined> {
    const done = nonEmptySet(segments.map(String));
    const meta = this.item(revision, META);
    if (!meta) return undefined;
    add(meta, 'doneSegments', done);
    return toRecord(meta);
  }

  async finishWriting(
    revision: string,
    info: { segments: number; size: number; sha256: string; scanned?: WrittenScan },
  ): Promise<RevisionRecord> {
    const meta = this.item(revision, META);
    if (!meta) throw conditionFailed(`no revision ${revision}`);
    Object.assign(meta, {
      segments: info.segments,
      size: info.size,
      sha256: info.sha256,
      ...(info.scanned ? { scanned: structuredClone(info.scanned) } : {}),
    });
    return toRecord(meta);
  }

  async commitWhole(
    revision: string,
    segments: number,
    at: Date,
  ): Promise<RevisionRecord | undefined> {
    const meta = this.item(revision, META);
    if (meta?.state !== 'pending' || meta.segments !== segments) return undefined;
    add(meta, 'doneSegments', nonEmptySet(Array.from({ length: segments }, (_, i) => String(i))));
    committed(meta, at);
    return toRecord(meta);
  }

  async commit(revision: string, segments: number, at: Date): Promise<boolean> {
    const meta = this.item(revision, META);
    // size() of an absent set is no size at all: the condition fails, even for 0 segments.
    const done = meta?.doneSegments;
    if (
      meta?.state !== 'pending' ||
      meta.segments !== segments ||
      !(done instanceof Set) ||
      done.size < segments
    )
      return false;
    committed(meta, at);
    return true;
  }

  async fail(revision: string, reason: string, dueAt: number, ifDueBy?: number): Promise<boolean> {
    const meta = this.item(revision, META);
    if (meta?.state !== 'pending') return false;
    if (ifDueBy !== undefined && !(Number(meta.dueAt) <= ifDueBy)) return false;
    Object.assign(meta, { state: 'failed', reason, janitor: DUE, dueAt });
    delete meta.dispersing;
    return true;
  }

  async extendPending(revision: string, dueAt: number): Promise<boolean> {
    const meta = this.item(revision, META);
    if (meta?.state !== 'pending' || !(Number(meta.dueAt) < dueAt)) return false;
    meta.dueAt = dueAt;
    return true;
  }

  async markTasksDone(revision: string): Promise<void> {
    const meta = this.item(revision, META);
    if (meta) meta.tasksDone = true;
  }

  async retire(revision: string, dueAt: number): Promise<void> {
    const meta = this.item(revision, META);
    if (meta?.state !== 'committed') return;
    Object.assign(meta, { state: 'garbage', janitor: DUE, dueAt });
  }

  async pendingDispersals(
    vault: string,
    writer: string | undefined,
    page: { limit: number; after?: string },
  ): Promise<{ records: RevisionRecord[]; more: boolean }> {
    if (!(page.limit >= 1))
      throw new ValidationException(`Limit must be at least 1, got ${page.limit}`);
    const key = dispersingKey(vault, writer);
    const listed: Item[] = [];
    for (const parts of this.items.values()) {
      const meta = parts.get(META);
      const after = page.after;
      if (
        meta?.dispersing === key &&
        (after === undefined || byUtf8(String(meta.revision), after) > 0)
      )
        listed.push(meta);
    }
    listed.sort((a, b) => byUtf8(String(a.revision), String(b.revision)));
    return {
      records: listed.slice(0, page.limit).map(toRecord),
      // DynamoDB says so whenever a page is full, whether or not more follow.
      more: listed.length >= page.limit,
    };
  }

  async due(now: number, limit: number): Promise<RevisionRecord[]> {
    if (!(limit >= 1)) throw new ValidationException(`Limit must be at least 1, got ${limit}`);
    const due: Item[] = [];
    for (const parts of this.items.values()) {
      for (const item of parts.values()) {
        // The index holds the items that carry both its keys, with their types.
        if (item.janitor === DUE && typeof item.dueAt === 'number' && item.dueAt <= now)
          due.push(item);
      }
    }
    return due
      .sort(
        (a, b) =>
          Number(a.dueAt) - Number(b.dueAt) ||
          byUtf8(String(a.revision), String(b.revision)) ||
          byUtf8(String(a.part), String(b.part)),
      )
      .slice(0, limit)
      .map(toRecord);
  }

  async purged(revision: string): Promise<void> {
    this.items.delete(revision);
  }

  async resweepAt(revision: string, dueAt: number): Promise<void> {
    const meta = this.item(revision, META);
    if (meta?.state !== 'failed') return;
    Object.assign(meta, { janitor: DUE, dueAt, resweep: true });
  }
}

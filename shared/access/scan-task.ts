/**
 * The scan, as an associated task of the commit (registered in the committer's registry, as
 * the listeners' task is). It streams the committed revision through the store's reader into
 * the scanner (unless the server's writer scanned the bytes as it wrote them, and its verdict
 * came with the revision), records the verdict on the key's index entry (only while the key
 * still points at this revision), and announces a quarantine as an `object.quarantined` event.
 *
 * Idempotent: a rerun scans again and writes the same state; the event may go out twice, as
 * every event may (consumers dedupe on vault, key, revision and type).
 */
import type { Clock } from '../clock.ts';
import { SegmentLostError } from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  type AssociatedTask,
  type EventBus,
  type IndexEntry,
  type ObjectIndex,
  quarantinedEvent,
  type ReaderDeps,
  type RevisionRecord,
  readEntry,
} from '../store/index.ts';
import { type Scanner, scanStream, type Verdict } from './scanner.ts';

export interface ScanTaskDeps {
  index: ObjectIndex;
  /** The store's reader: the scan reads slices as any read does, damage reported alike. */
  reader: ReaderDeps;
  scanner: Scanner;
  /** The vault events topic, and the listeners. */
  events: EventBus;
  clock: Clock;
  log: Logger;
  /** Objects larger than this are `skipped`: the commit's task has a time limit. */
  maxBytes: number;
}

/** The manifest of a committed revision, as the reader takes it. */
function entryOf(record: RevisionRecord): IndexEntry {
  return {
    vault: record.vault,
    key: record.key,
    revision: record.revision,
    objectId: record.objectId,
    size: record.size ?? 0,
    sha256: record.sha256 ?? '',
    segments: record.segments ?? 0,
    segmentSize: record.segmentSize,
    readThreshold: record.readThreshold,
    units: record.units,
    committedAt: record.committedAt ?? '',
  };
}

/**
 * Streams the revision through the scanner. A segment with fewer than k good slices cannot be
 * read by anyone until a rebuild finds it lost: the object is skipped (the reader has queued the
 * damage for repair), rather than failing the commit's tasks again and again.
 */
async function scanReadable(deps: ScanTaskDeps, entry: IndexEntry): Promise<Verdict> {
  try {
    return await scanStream(deps.scanner, readEntry(deps.reader, entry), entry.size);
  } catch (err) {
    if (!(err instanceof SegmentLostError)) throw err;
    return { state: 'skipped', reason: `unreadable: ${err.message}` };
  }
}

/**
 * Scans one committed revision and returns the verdict it recorded (undefined: superseded). A
 * revision its server-side writer found clean comes back clean at once: the commit's index task
 * published its entry clean already (store/committer.ts `indexTask`), so nothing is read or
 * written; that saves the entry's read and update on every such commit.
 */
export async function scanRevision(
  deps: ScanTaskDeps,
  record: RevisionRecord,
): Promise<Verdict | undefined> {
  if (record.scanned?.state === 'clean' && (record.size ?? 0) <= deps.maxBytes)
    return record.scanned;
  const current = await deps.index.get(record.vault, record.key);
  // A newer revision or a delete owns the key: its own scan decides; this one shows nowhere.
  if (current?.revision !== record.revision) return undefined;
  const entry = entryOf(record);
  // A server-side writer scanned the bytes as it encoded them (store/write-scan.ts): its
  // verdict stands, and the object is not read back. A client's dispersal has none.
  const verdict: Verdict =
    entry.size > deps.maxBytes
      ? {
          state: 'skipped',
          reason: `${entry.size} bytes is over the scan limit of ${deps.maxBytes}`,
        }
      : (record.scanned ?? (await scanReadable(deps, entry)));
  const detail =
    verdict.state === 'infected'
      ? verdict.signature
      : verdict.state === 'skipped'
        ? verdict.reason
        : undefined;
  const applied = await deps.index.setScanState(
    record.vault,
    record.key,
    record.revision,
    verdict.state,
    detail,
  );
  if (!applied) return undefined;
  if (verdict.state === 'infected') {
    deps.log.warn('object quarantined', {
      vault: record.vault,
      key: record.key,
      revision: record.revision,
      signature: verdict.signature,
    });
    await deps.events.publish(quarantinedEvent(entry, verdict.signature, deps.clock.date()));
  }
  return verdict;
}

/** The committer's task that scans each committed revision. */
export function scanTask(deps: ScanTaskDeps): AssociatedTask {
  return async (record) => {
    await scanRevision(deps, record);
  };
}

/**
 * Revisions: one version of an object, invisible to readers until committed. A revision is
 * pending while its segments are being stored, committed once every segment has `T` favorable
 * unit statuses, failed when some segment can no longer reach `T`, and garbage once a newer
 * revision or a delete has replaced it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ObjectAttributes, Precondition } from './object-attributes.ts';

export type RevisionState = 'pending' | 'committed' | 'failed' | 'garbage';

/** What the ledger keeps about a revision (the manifest once committed). */
export interface RevisionRecord {
  revision: string;
  vault: string;
  key: string;
  objectId: string;
  state: RevisionState;
  /** Segment count; unknown (undefined) while a streamed write is still cutting segments. */
  segments?: number;
  size?: number;
  sha256?: string;
  segmentSize: number;
  readThreshold: number;
  writeThreshold: number;
  /** Pool unit of each pillar, fixed at write time (a unit replacement moves a pillar). */
  units: number[];
  /** The id of the vault topology it was written under (absent before the vault had one). */
  topology?: string;
  /** Segments with T favorable statuses. */
  doneSegments: number;
  /** Which segments those are, in order, while it is pending (a resumed dispersal skips them). */
  segmentsDone?: number[];
  /** Units that reported a failed store, for the 503 answer. */
  failedUnits: number[];
  createdAt: string;
  committedAt?: string;
  /** Why the revision failed, when it did. */
  reason?: string;
  /**
   * When the janitor is due to act on it (epoch ms): fail it while it is pending, remove its
   * slices once it failed or was replaced. Absent once committed and while visible.
   */
  dueAt?: number;
  /** The associated tasks have all run (they run again until they have). */
  tasksDone: boolean;
  /** Content type, disposition and user metadata, for the index entry. */
  attributes?: ObjectAttributes;
  /** A conditional write's precondition, checked when the index is pointed at it. */
  precondition?: Precondition;
  /** Why a committed revision never became visible: its precondition failed. */
  refused?: string;
  /**
   * The root key of whoever wrote it (`Principal.rootKeyId`): an unprotected session may read
   * its own uploads before they are scanned. Absent on revisions written before it was kept.
   */
  writer?: string;
  /**
   * The scan of its bytes by the server's writer, as they streamed through it (a trusted
   * writer's; a client's dispersal never has one): the commit's scan task records it rather
   * than reading the object back.
   */
  scanned?: WrittenScan;
  /**
   * A client's dispersal, while it is pending: `dispersingKey(vault, writer)`, by which its
   * writer lists it (`Ledger.pendingDispersals`). The ledger drops it at the commit or failure.
   */
  dispersing?: string;
  /**
   * The token a client's dispersal was opened with, listed with it while pending: a client whose
   * open was answered by a gateway error (after it may have run) and made again finds the
   * revisions its lost answers opened, by this, and cancels them.
   */
  openToken?: string;
  /**
   * Its slices are placed by a client through presigned URLs (a client dispersal), which may
   * still land after it failed and its slices were removed: the janitor looks once more.
   */
  clientPlaced?: boolean;
  /** The janitor removed its slices once and looks again at `dueAt` for late ones. */
  resweep?: boolean;
}

/** What a pending client dispersal of `writer` in `vault` is listed by. */
export function dispersingKey(vault: string, writer: string | undefined): string {
  // Vault names hold no `/`; a dispersal opened with no key (an unsigned local stage) has `-`.
  return `${vault}/${writer ?? '-'}`;
}

/**
 * The longest a write may stay pending while it makes progress (a dispersal's calls, a
 * writer's stream): 12 hours. A delete's tombstone outlives it (deleter.ts), so no revision
 * older than a delete can commit after the tombstone is gone.
 */
export const MAX_PENDING_AGE_MS = 12 * 60 * 60 * 1000;

/**
 * The due time a pending revision created at `createdAt` and due at `dueAt` moves on to at
 * `now`: a whole `timeoutMs` from now once less than half of it is left, never past its
 * longest age. So a write that makes progress is not failed for its age, one that stops is
 * failed a timeout after it stopped, and moving costs one write per half timeout at most.
 * Undefined when it does not move.
 */
export function extendedDueAt(
  createdAt: number,
  dueAt: number | undefined,
  now: number,
  timeoutMs: number,
): number | undefined {
  if (dueAt !== undefined && dueAt - now >= timeoutMs / 2) return undefined;
  const next = Math.min(now + timeoutMs, createdAt + Math.max(MAX_PENDING_AGE_MS, timeoutMs));
  return dueAt === undefined || next > dueAt ? next : undefined;
}

/** A server-side writer's scan verdict on the bytes it wrote: clean, or the signature found. */
export type WrittenScan = { state: 'clean' } | { state: 'infected'; signature: string };

/** One storage unit's answer for one slice. */
export interface UnitStatus {
  vault: string;
  revision: string;
  segment: number;
  pillar: number;
  unit: number;
  ok: boolean;
  reason?: string;
}

/**
 * A new revision id: a millisecond timestamp and 64 random bits, both fixed width, so ids of
 * one key sort by creation time and "newer revision wins" is a string comparison.
 */
export function newRevisionId(now = Date.now()): string {
  return `${now.toString(36).padStart(10, '0')}${randomBytes(8).toString('hex')}`;
}

/** When a revision was created (epoch ms), from the timestamp its id starts with. */
export function revisionTime(revision: string): number {
  return Number.parseInt(revision.slice(0, 10), 36);
}

/** A stable id for a key within a vault, short enough for slice names whatever the key. */
export function objectIdOf(vault: string, key: string): string {
  return createHash('sha256')
    .update(vault)
    .update('\0')
    .update(key)
    .digest('base64url')
    .slice(0, 22);
}

/** What one more status means for its segment. */
export type TallyVerdict = 'segment-done' | 'segment-lost' | 'undecided';

/** `favorable` and `unfavorable` are the distinct pillars heard so far for one segment. */
export function judgeSegment(
  favorable: number,
  unfavorable: number,
  width: number,
  writeThreshold: number,
): TallyVerdict {
  if (favorable >= writeThreshold) return 'segment-done';
  // More than n - T failures leave fewer than T pillars that could still succeed.
  if (unfavorable > width - writeThreshold) return 'segment-lost';
  return 'undecided';
}

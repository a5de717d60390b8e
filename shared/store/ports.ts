/**
 * The small interfaces the domain speaks to. `shared/aws/` implements them with the AWS SDK;
 * nothing else in `shared/` imports an SDK.
 */

import type { UnitMessage } from './multicast.ts';
import type { ObjectAttributes, Precondition } from './object-attributes.ts';
import type { ObjectEvent } from './object-event.ts';
import type { RevisionRecord, UnitStatus, WrittenScan } from './revision.ts';
import type { SliceDamage } from './slice-damage.ts';
import type { DispersalProgress, Upload, UploadState } from './upload-record.ts';
import type { Vault } from './vault.ts';

/** One slice object as a storage unit holds it. */
export interface StoredSlice {
  key: string;
  size: number;
  lastModified?: Date;
}

/** The pool's storage units: one bucket each, addressed by unit index. */
export interface SliceStore {
  /**
   * Stores `body` at `key` on `unit`. `crc32` (base64, as S3's `x-amz-checksum-crc32`, see
   * `s3Crc32`) lets the store verify the bytes on arrival; a mismatch stores nothing.
   */
  put(unit: number, key: string, body: Uint8Array, crc32: string): Promise<void>;
  /**
   * Stores `body` at `key` on `unit` only if the key holds nothing yet, in one request (S3's
   * `If-None-Match: *`): 'created', or 'exists' with whatever is there left untouched.
   */
  create(unit: number, key: string, body: Uint8Array, crc32: string): Promise<'created' | 'exists'>;
  /** The whole slice object. @throws SliceNotFoundError */
  get(unit: number, key: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** Size and stored CRC-32 of a slice object, or undefined when absent. */
  head(unit: number, key: string): Promise<{ size: number; crc32?: string } | undefined>;
  /** Every slice object under `prefix` on `unit`, in key order, from after `startAfter` when given. */
  list(unit: number, prefix: string, startAfter?: string): AsyncIterable<StoredSlice>;
  /** Deletes the keys on `unit`; absent keys are not an error. */
  delete(unit: number, keys: string[]): Promise<void>;
}

/** Vault configurations. */
export interface VaultStore {
  /** @throws VaultExistsError when the name is taken. */
  create(vault: Vault): Promise<void>;
  /**
   * `fresh`: read past any cache (a caching store's answer may be a second old).
   * @throws VaultNotFoundError
   */
  get(name: string, options?: { fresh?: boolean }): Promise<Vault>;
  list(): Promise<Vault[]>;
}

/** What judging a segment's statuses takes (fixed when the revision is written). */
export interface SegmentJudge {
  vault: string;
  width: number;
  writeThreshold: number;
}

/** Unit statuses for one segment, as sets: pillars for and against, and the failed units. */
export interface SegmentVotes {
  vault: string;
  favorable: number[];
  unfavorable: number[];
  failedUnits: number[];
}

/** A segment's tally after a vote: distinct pillars heard each way, and its judge. */
export interface SegmentTally extends SegmentJudge {
  favorable: number;
  unfavorable: number;
  /** Distinct favorable pillars before this vote. */
  favorableBefore: number;
  /** A pillar of this vote was counted the same way before: a repeat, or a redelivery. */
  repeated: boolean;
}

/** What one scanner concluded about one object. */
export type ScanVerdict =
  | { state: 'clean' }
  | { state: 'infected'; signature: string }
  | { state: 'skipped'; reason: string };

/**
 * One object's scan in progress, as its bytes stream by: the access system's scanners
 * (access/scanner.ts) implement it, and a server-side writer feeds one (WriteScanner).
 */
export interface ContentScanSession {
  /** Feeds the next chunk; true once the verdict is known and more bytes cannot change it. */
  write(chunk: Uint8Array): Promise<boolean>;
  /** The verdict, after the last chunk (or once `write` said it is known). */
  finish(): Promise<ScanVerdict>;
  /** Gives up (the stream failed); releases what the session holds. */
  abort(): void;
}

/**
 * The scan a server-side writer runs on the bytes as it encodes them, so the commit's scan
 * task need not read the object back. Objects above `maxBytes` are left to the task (which
 * skips them).
 */
export interface WriteScanner {
  maxBytes: number;
  open(): Promise<ContentScanSession>;
}

/** Revisions and their per-segment tallies: the committer's ledger. Every write is idempotent. */
export interface Ledger {
  /** Records a new pending revision, due for cleanup at `dueAt` (epoch ms) unless committed. */
  createPending(record: RevisionRecord, dueAt: number): Promise<void>;
  get(revision: string): Promise<RevisionRecord | undefined>;
  /**
   * Opens a segment's tally before its message is sent, with what judging it takes, so the
   * committer can count its statuses without reading the revision; with the CRC-32 of each
   * of its slices as announced (a client's dispersal), which replace any earlier ones, so a
   * resume can tell the same bytes. Idempotent; never resets a tally.
   */
  openSegment(
    revision: string,
    segment: number,
    judge: SegmentJudge,
    crc32?: string[],
  ): Promise<void>;
  /** The slices' CRC-32s each opened segment was announced with (segments opened without none). */
  announcedChecksums(revision: string): Promise<Map<number, string[]>>;
  /**
   * Adds pillars to an open segment's favorable and unfavorable sets and returns the set sizes
   * afterwards (and the favorable one's before, and whether any pillar repeated), with the
   * segment's judge; unfavorable units are added to the revision's failed
   * units. Undefined, and nothing counted, when the segment is not open in `vault` (never
   * opened, or purged with its revision). A repeated vote changes nothing.
   */
  tally(revision: string, segment: number, votes: SegmentVotes): Promise<SegmentTally | undefined>;
  /** Adds `segments` to the revision's done set; the record afterwards, undefined if purged. */
  markSegmentsDone(revision: string, segments: number[]): Promise<RevisionRecord | undefined>;
  /** Records what the writer learnt at the end of its stream; returns the record afterwards. */
  finishWriting(
    revision: string,
    info: { segments: number; size: number; sha256: string; scanned?: WrittenScan },
  ): Promise<RevisionRecord>;
  /**
   * Marks segments `0..segments-1` done and flips pending to committed, in one write, when the
   * revision's recorded count is `segments`: the record afterwards. Undefined, and nothing
   * changed, when it is not pending, its count is another or not yet known, or it is gone. Only
   * for segments each judged done (every one of them reached `T`).
   */
  commitWhole(revision: string, segments: number, at: Date): Promise<RevisionRecord | undefined>;
  /** Flips pending to committed when all `segments` are done. True only for the call that flipped it. */
  commit(revision: string, segments: number, at: Date): Promise<boolean>;
  /**
   * Flips pending to failed, due for cleanup at `dueAt`; with `ifDueBy`, only while its own due
   * time is at most that (the janitor's timeout, which an extension may have moved on since it
   * listed the revision). True only for the call that flipped it.
   */
  fail(revision: string, reason: string, dueAt: number, ifDueBy?: number): Promise<boolean>;
  /**
   * Moves a pending revision's due time on to `dueAt`, never back: a write still making progress
   * is not failed for its age. True when it moved.
   */
  extendPending(revision: string, dueAt: number): Promise<boolean>;
  /** Records that the revision's associated tasks ran; nothing for a revision no longer recorded. */
  markTasksDone(revision: string): Promise<void>;
  /**
   * Marks a replaced or deleted revision as garbage, due for cleanup at `dueAt`; `refused`, when
   * given, says why it never became visible (its precondition failed).
   */
  retire(revision: string, dueAt: number, refused?: string): Promise<void>;
  /** Revisions whose slices are due for removal: stale pending, failed, garbage. */
  due(now: number, limit: number): Promise<RevisionRecord[]>;
  /**
   * The client dispersals `writer` opened in `vault` that are still pending, oldest first, at
   * most `limit`, those after revision `after` only; `more` when others follow. Read from an
   * index: one just opened or just ended may show a moment late.
   */
  pendingDispersals(
    vault: string,
    writer: string | undefined,
    page: { limit: number; after?: string },
  ): Promise<{ records: RevisionRecord[]; more: boolean }>;
  /** Cleanup of the revision's slices finished. */
  purged(revision: string): Promise<void>;
  /**
   * A failed revision's slices were removed once; it is due again at `dueAt` for a last look
   * (`resweep`), for slices its client's URLs may still place.
   */
  resweepAt(revision: string, dueAt: number): Promise<void>;
}

/**
 * What the scanner found in a committed revision (seed 004's storage-management abstract; the
 * access system runs the scan and decides who may read what): `pending` until it has run,
 * `skipped` when it will not (see shared/access/scan-task.ts).
 */
export type ScanState = 'pending' | 'clean' | 'infected' | 'skipped';

/** What the object index holds per key: the manifest of its committed revision. */
export interface IndexEntry {
  vault: string;
  key: string;
  revision: string;
  objectId: string;
  size: number;
  sha256: string;
  segments: number;
  segmentSize: number;
  readThreshold: number;
  units: number[];
  /** The vault topology the revision was written under (its manifest keeps it). */
  topology?: string;
  committedAt: string;
  /** Content type, disposition and user metadata given by the writer. */
  attributes?: ObjectAttributes;
  /** The revision's writer (`RevisionRecord.writer`). */
  writer?: string;
  /** Absent on entries committed before scanning existed: they count as `skipped`. */
  scanState?: ScanState;
  /** The signature found (infected) or why the scan did not run (skipped). */
  scanDetail?: string;
}

/** Keys to their committed revisions, for reads and listings without scanning buckets. */
export interface ObjectIndex {
  /**
   * Points the key at `entry.revision` unless a newer revision (or a newer delete) is there,
   * and, with a `precondition`, only if it holds for the key's live entry, in the same
   * conditional write (so no write can slip between the check and the commit). The same
   * revision again succeeds, as a redelivered task must.
   * @returns the revision it replaced, `stale` when a newer one won, `refused` when the
   * precondition failed (nothing changed).
   */
  publish(
    entry: IndexEntry,
    precondition?: Precondition,
  ): Promise<{ replaced?: string; stale: boolean; refused?: boolean }>;
  get(vault: string, key: string): Promise<IndexEntry | undefined>;
  /**
   * The newest revision the key has seen, a delete's tombstone included (while it is kept):
   * what any write older than it could no longer show.
   */
  newest(vault: string, key: string): Promise<{ revision: string; deleted: boolean } | undefined>;
  /**
   * Records the scan's outcome on the key's entry if it still points at `revision`: a newer
   * revision (or a delete) has its own state. Idempotent. @returns whether it applied.
   */
  setScanState(
    vault: string,
    key: string,
    revision: string,
    state: ScanState,
    detail?: string,
  ): Promise<boolean>;
  /**
   * Replaces the key's live entry with a tombstone at `revision`, kept until `keepUntil` (epoch
   * ms) so that no older revision can come back meanwhile; returns the entry it removed. A key
   * that holds nothing (never written, or deleted already) is left as it is: undefined.
   */
  remove(
    vault: string,
    key: string,
    revision: string,
    keepUntil: number,
  ): Promise<IndexEntry | undefined>;
  /**
   * Up to `limit` live entries under `prefix` in key order, after `cursor`. One call reads a
   * bounded number of items, so a page may come back short (even empty) with a cursor; the
   * cursor is there exactly when more may follow (see listing-cursor.ts).
   * @throws InvalidParameterError on `cursor` when no listing under `prefix` returned it.
   */
  list(
    vault: string,
    prefix: string,
    limit: number,
    cursor?: string,
  ): Promise<{ entries: IndexEntry[]; cursor?: string }>;
}

export interface EventBus {
  /** At least once: consumers dedupe on `(vault, key, revision, type)`. */
  publish(event: ObjectEvent): Promise<void>;
}

/** The network: one publish reaches every unit subscribed to the address. */
export interface Multicast {
  /**
   * Sends segments' slices to the units of `address`: one message per segment, in as few
   * calls as the transport allows.
   */
  send(address: string, messages: UnitMessage[]): Promise<void>;
  /** A unit's statuses (one message for all it has), to the status group (the committer). */
  statuses(address: string, statuses: UnitStatus[]): Promise<void>;
  /**
   * Asks the committer, through the status group, to commit `revision` if its segments are all
   * done: the writer's word that it recorded the segment count after the last status came in.
   */
  nudge(address: string, revision: string): Promise<void>;
}

export type { SliceDamage } from './slice-damage.ts';

/** Where reads report the damage they met, for the rebuilder to repair. */
export interface RepairLog {
  record(damage: SliceDamage[]): Promise<void>;
}

/** The addresses this unit is subscribed to. */
export interface SubscriptionView {
  addresses(options?: { refresh: boolean }): Promise<Set<string>>;
}

export interface UploadStore {
  create(upload: Upload): Promise<void>;
  get(uploadId: string): Promise<Upload | undefined>;
  /** Applies `fields` if the upload is in one of `from`. @returns whether it applied. */
  transition(uploadId: string, from: UploadState[], fields: Partial<Upload>): Promise<boolean>;
  /**
   * Records a dispersing upload's `progress` if its step is still `step - 1` (none recorded
   * counts as step 0): of two invocations of one step, one records. @returns whether it did.
   */
  advance(uploadId: string, progress: DispersalProgress): Promise<boolean>;
  /**
   * Records `revision` as the one a dispersing upload writes, if the revision it names is still
   * `previous` (none, when undefined): of two deliveries opening a revision at once, one
   * records it, and the other drops its own. @returns whether it did.
   */
  claimRevision(uploadId: string, revision: string, previous: string | undefined): Promise<boolean>;
  /** Marks the message of step `step` queued, if the upload's progress is still at it. */
  markStepQueued(uploadId: string, step: number): Promise<void>;
  /**
   * Marks a `pending` upload's dispersal as queued again at step `step` at `now` (epoch ms),
   * unless it is marked at a later step, or at this one since `staleBefore`: of the looks that
   * would queue it, one does, and another only once that mark is stale (its send lost to a
   * crash). @returns whether it marked.
   */
  markRequeued(uploadId: string, step: number, now: number, staleBefore: number): Promise<boolean>;
  /**
   * Claims follow-up `n` of a `pending` upload at `now` (epoch ms): unless a later one is claimed,
   * or this one since `staleBefore` (an older claim's send is taken as lost), or the upload is in
   * another state. Of concurrent claims one applies. @returns whether it claimed.
   */
  claimFollowUp(uploadId: string, n: number, now: number, staleBefore: number): Promise<boolean>;
  /**
   * Counts `uploadId` among `caller`'s open uploads, until `expiresAt` (epoch ms), unless
   * `quota` of them are open at `now` already (expired ones do not count, and are dropped).
   * Idempotent for one id. @returns whether it counts now.
   */
  admit(
    caller: string,
    uploadId: string,
    expiresAt: number,
    quota: number,
    now: number,
  ): Promise<boolean>;
  /** `uploadId` no longer counts among `caller`'s open uploads. Idempotent. */
  release(caller: string, uploadId: string): Promise<void>;
}

export interface StagingStore {
  putPart(uploadId: string, part: number, body: Uint8Array): Promise<void>;
  /** Part numbers and sizes, in order. */
  listParts(uploadId: string): Promise<Array<{ part: number; size: number }>>;
  /** A part's bytes, from byte `from` of it on (0 by default). */
  readPart(uploadId: string, part: number, from?: number): AsyncIterable<Uint8Array>;
  deleteUpload(uploadId: string): Promise<void>;
}

/** A part of an S3 multipart upload, as the staging bucket lists it. */
export interface MultipartPart {
  part: number;
  size: number;
  etag: string;
}

/**
 * Presigned multipart uploads into the staging bucket: the client PUTs parts straight to S3,
 * and completing joins them into the object staged as part 1, which the disperser reads as it
 * reads proxied parts.
 */
export interface MultipartStaging {
  /** Starts the multipart upload of `uploadId`'s staged object; returns S3's upload id. */
  openMultipart(uploadId: string): Promise<string>;
  /** A URL to PUT part `part` (1-based) with, good for `expiresInSeconds`. */
  presignPart(
    uploadId: string,
    multipartId: string,
    part: number,
    expiresInSeconds: number,
  ): Promise<string>;
  /** The parts uploaded so far, in order; undefined once the multipart upload is gone. */
  listMultipartParts(uploadId: string, multipartId: string): Promise<MultipartPart[] | undefined>;
  /** Joins `parts` into the staged object. */
  completeMultipart(uploadId: string, multipartId: string, parts: MultipartPart[]): Promise<void>;
  /** Ends the multipart upload and drops its parts; nothing when it is gone already. */
  abortMultipart(uploadId: string, multipartId: string): Promise<void>;
}

export interface DispersalQueue {
  /** Queues step `step` (0, the first, by default) of `uploadId`'s dispersal. */
  enqueue(uploadId: string, step?: number): Promise<void>;
  /**
   * Queues follow-up `followUp` of a `pending` upload (upload-outcome.ts), delivered once
   * `delaySeconds` have passed (SQS allows at most 900).
   */
  follow(uploadId: string, followUp: number, delaySeconds: number): Promise<void>;
  /** How long a delivery that failed waits before it comes again (the visibility timeout). */
  redeliveryDelayMs(): Promise<number>;
}

/**
 * Presigned slice PUTs for client-side dispersal: a URL to PUT exactly one slice (its key, its
 * CRC-32 and size signed in) into its unit's bucket, once (create-only: `If-None-Match: *` is
 * signed in too), good for `expiresInSeconds`. Its caller sends `slicePutHeaders`.
 */
export interface SlicePresigner {
  presignPut(
    unit: number,
    key: string,
    crc32: string,
    size: number,
    expiresInSeconds: number,
  ): Promise<string>;
  /** A GET of one slice key in its unit's bucket, for a client's own read (retrieval.ts). */
  presignGet(unit: number, key: string, expiresInSeconds: number): Promise<string>;
}

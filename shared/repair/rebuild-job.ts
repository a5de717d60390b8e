/**
 * A rebuild job: one pass of the rebuilder over a vault, and everything needed to resume it in
 * another invocation. Its phases run in order: `count` (segments to scan, for the ETA), `scan`
 * (every committed segment checked and repaired, checkpointed after each), `orphans` (each
 * unit's slices that no committed revision owns), then `done`. The repair queue is drained at
 * the start of every invocation, before the phase it is in.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { integer, nonEmptyString, parseJsonWith, parseWith, strictObject } from '../validate.ts';

export type RebuildPhase = 'count' | 'scan' | 'orphans' | 'done';

/** A segment with fewer than k good slices: its object cannot be read. */
export interface LostSegment {
  key: string;
  revision: string;
  segment: number;
  good: number;
}

/** At most this many lost segments are listed in a job (all are counted and logged). */
export const LOST_LISTED = 1000;
/**
 * And at most this many bytes of them: the job is one DynamoDB item (400 KB), and a key may be
 * 1 KiB, so a thousand long keys would make every save of the job fail, and the rebuild stop.
 */
export const LOST_LISTED_BYTES = 200 * 1024;

/** What a listed lost segment costs its job's item, about (its key, revision, numbers). */
function listedBytes(l: LostSegment): number {
  return Buffer.byteLength(l.key, 'utf8') + l.revision.length + 64;
}

/** Whether `lost` has room for `next` (LOST_LISTED, LOST_LISTED_BYTES). */
export function roomForLost(lost: readonly LostSegment[], next: LostSegment): boolean {
  if (lost.length >= LOST_LISTED) return false;
  return lost.reduce((sum, l) => sum + listedBytes(l), listedBytes(next)) <= LOST_LISTED_BYTES;
}

export interface RebuildJob {
  vault: string;
  id: string;
  state: 'running' | 'done';
  phase: RebuildPhase;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Per-invocation cap on segments scanned, for demos and tests of resumption (0: none). */
  stepSegments: number;
  invocations: number;
  totalObjects: number;
  totalSegments: number;
  segmentsScanned: number;
  segmentsRepaired: number;
  segmentsLost: number;
  slicesRepaired: number;
  /** Slices that could not be rewritten (their unit refused), left for the next rebuild. */
  repairFailures: number;
  /** Records taken off the repair queue. */
  queueRecords: number;
  orphansDeleted: number;
  /** Revisions found holding slices that are not committed and current (the janitor's, or orphans). */
  staleRevisions: number;
  /** Of those, committed ones replaced or deleted whose retire was lost, retired by the sweep. */
  revisionsRetired?: number;
  /** Slice bytes read and written. */
  bytesMoved: number;
  /** Time spent scanning, for the ETA. */
  scanMs: number;
  lost: LostSegment[];
  /** Where the count is: the index cursor of the next page. */
  countCursor?: string;
  /** Where the scan is: the next segment to check is `segment` of `key` (from the index page at `page`). */
  scanCursor?: { page?: string; key: string; revision: string; segment: number };
  /** Where the orphan sweep is: unit `unit`, after slice key `after`. */
  orphanCursor?: { unit: number; after?: string };
}

export interface RebuildRequest {
  restart: boolean;
  stepSegments: number;
}

/** The body of `POST /vaults/{vault}/rebuild`; an empty body starts a plain rebuild. */
export const rebuildRequestSchema: z.ZodType<RebuildRequest> = strictObject(
  {
    restart: z.boolean({ error: 'must be true or false' }).default(false),
    stepSegments: integer(0, 1_000_000, 'must be an integer 0..1000000 (0: no cap)').default(0),
  },
  'a rebuild option',
);

/** Checks a `POST /vaults/{vault}/rebuild` body. @throws InvalidParameterError naming the field. */
export function parseRebuildRequest(body: unknown): RebuildRequest {
  return parseWith(rebuildRequestSchema, body ?? {});
}

export function newRebuildJob(vault: string, request: RebuildRequest, now: Date): RebuildJob {
  const at = now.toISOString();
  return {
    vault,
    id: randomUUID(),
    state: 'running',
    phase: 'count',
    startedAt: at,
    updatedAt: at,
    stepSegments: request.stepSegments,
    invocations: 0,
    totalObjects: 0,
    totalSegments: 0,
    segmentsScanned: 0,
    segmentsRepaired: 0,
    segmentsLost: 0,
    slicesRepaired: 0,
    repairFailures: 0,
    queueRecords: 0,
    orphansDeleted: 0,
    staleRevisions: 0,
    bytesMoved: 0,
    scanMs: 0,
    lost: [],
  };
}

/**
 * Seconds left, from the scan rate so far; undefined before the scan has a rate. Objects
 * written during the scan are not in the total, so it can run a little past zero.
 */
export function etaSeconds(job: RebuildJob): number | undefined {
  if (job.state === 'done') return 0;
  if (job.phase === 'count' || job.segmentsScanned === 0 || job.scanMs <= 0) return undefined;
  const left = Math.max(0, job.totalSegments - job.segmentsScanned);
  return Math.ceil((left * job.scanMs) / job.segmentsScanned / 1000);
}

/** The job as the API shows it: without its cursors, with its ETA. */
export function publicJob(job: RebuildJob) {
  const { countCursor: _c, scanCursor: _s, orphanCursor: _o, ...shown } = job;
  const eta = etaSeconds(job);
  return { ...shown, ...(eta === undefined ? {} : { etaSeconds: eta }) };
}

/** A rebuild message names the job to carry on with; the trigger writes exactly this. */
export interface RebuildMessage {
  vault: string;
  id: string;
}

const TWO_STRINGS =
  'must be a non-empty string (the message is JSON {"vault","id"} with two strings)';

export const rebuildMessageSchema: z.ZodType<RebuildMessage> = strictObject(
  { vault: nonEmptyString(TWO_STRINGS), id: nonEmptyString(TWO_STRINGS) },
  'a rebuild message field',
);

/** A rebuild queue message: carry on with job `id` of `vault`. @throws InvalidParameterError */
export function parseRebuildMessage(body: string): RebuildMessage {
  return parseJsonWith(rebuildMessageSchema, body, { notJson: 'must be JSON {"vault","id"}' });
}

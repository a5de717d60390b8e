/**
 * A rebuild job: one pass of the rebuilder over a vault, and everything needed to resume it in
 * another invocation. Its phases run in order: `count` (segments to scan, for the ETA), `scan`
 * (every committed segment checked and repaired, checkpointed after each), `orphans` (each
 * unit's slices that no committed revision owns), then `done`. The repair queue is drained at
 * the start of every invocation, before the phase it is in.
 */
import { randomUUID } from 'node:crypto';
import { InvalidParameterError } from '../errors.ts';

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

/** Checks a `POST /vaults/{vault}/rebuild` body. @throws InvalidParameterError naming the field. */
export function parseRebuildRequest(body: unknown): RebuildRequest {
  if (body === undefined || body === null) return { restart: false, stepSegments: 0 };
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidParameterError('body', 'must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  for (const field of Object.keys(b)) {
    if (field !== 'restart' && field !== 'stepSegments') {
      throw new InvalidParameterError(field, 'is not a rebuild option (restart, stepSegments)');
    }
  }
  if (b.restart !== undefined && typeof b.restart !== 'boolean') {
    throw new InvalidParameterError('restart', 'must be true or false');
  }
  const step = b.stepSegments ?? 0;
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || step > 1_000_000) {
    throw new InvalidParameterError('stepSegments', 'must be an integer 0..1000000 (0: no cap)');
  }
  return { restart: b.restart === true, stepSegments: step };
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

/** A rebuild queue message: carry on with job `id` of `vault`. @throws InvalidParameterError */
export function parseRebuildMessage(body: string): { vault: string; id: string } {
  let m: unknown;
  try {
    m = JSON.parse(body);
  } catch {
    throw new InvalidParameterError('message', 'must be JSON {"vault","id"}');
  }
  const { vault, id } = (m ?? {}) as Record<string, unknown>;
  if (typeof vault !== 'string' || typeof id !== 'string' || vault === '' || id === '') {
    throw new InvalidParameterError('message', 'must be JSON {"vault","id"} with two strings');
  }
  return { vault, id };
}

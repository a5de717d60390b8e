/**
 * A topology job: what moves a vault's data onto the topology that became current. A replace
 * (or drain) moves one pillar's slices from the old unit to the new one; a re-stripe re-encodes
 * every committed object to the new geometry. Both go object by object in index order, with a
 * checkpoint after each object, so a job cut off (a time limit, a crash) resumes where it was.
 * Passes repeat until one finds nothing left to move and began after every write begun under
 * the old topology has had time to commit (the units' grace plus a margin).
 */
import type { z } from 'zod';
import { nonEmptyString, parseJsonWith, strictObject } from '../validate.ts';

export type TopologyJobPhase = 'count' | 'move' | 'sweep' | 'done';

export interface TopologyJob {
  vault: string;
  /** The id of the topology the job moves data onto (the proposal that became current). */
  id: string;
  /** The topology it moves data off. */
  from: string;
  kind: 'replace' | 'restripe';
  /** For a replace: the unit that leaves and the one that takes its pillar. */
  move?: { from: number; to: number };
  /**
   * For a replace: units other than `move.from` that it moved pillars off (those of earlier
   * replaces, for a write under a topology two or more back indexed late), each recorded before
   * its first such move: the sweep empties them of the vault as it empties `move.from`, so old
   * copies a crash or a failed delete left there do not stay.
   */
  strays?: number[];
  state: 'running' | 'done' | 'failed';
  phase: TopologyJobPhase;
  /** When the new topology became current (epoch ms). */
  since: number;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  invocations: number;
  passes: number;
  objectsDone: number;
  segmentsDone: number;
  segmentsTotal: number;
  bytesMoved: number;
  /** Time spent moving, for the ETA. */
  moveMs: number;
  /** Objects moved in the current pass. */
  passMoved: number;
  /** When the current pass began (epoch ms). */
  passStartedAt: number;
  /** Where the pass is: the index page, and the last key done on it. */
  cursor?: { page?: string; after?: string };
  /** Where the count is: the index page it reads next, and the segments counted before it. */
  countCursor?: { page: string; total: number };
  /** Why it failed (or why its last step did). */
  error?: string;
  /** Steps that failed one after the other; at 5 the job is failed. */
  failedSteps?: number;
  /**
   * Writes under an older topology indexed late, counted: their commit stalled past the fence's
   * read, or their index entry was written again after a failure, so a pass may have gone past
   * their key. Kept beside the job (no save of it reaches the count); `get` answers it here.
   */
  lateWrites?: number;
  /**
   * The count of late writes as read when the current pass began, before its first listing: a
   * write noted by then was indexed before the pass listed anything (its note follows its
   * entry), so the pass sees it. A later count means the pass may not have (`lateWriteUncovered`).
   */
  seenLateWrites?: number;
}

/** Whether a late write was noted after `job`'s current (or last) pass began: it must pass once more. */
export function lateWriteUncovered(job: Pick<TopologyJob, 'lateWrites' | 'seenLateWrites'>) {
  return (job.lateWrites ?? 0) > (job.seenLateWrites ?? 0);
}

/**
 * Reopens a job done before a late write was noted: one more move pass (then, for a replace,
 * the sweep again), from the start of the index, which sees every write noted up to `noted`.
 */
export function reopenJob(job: TopologyJob, now: number, noted: number): void {
  job.state = 'running';
  job.phase = 'move';
  job.passes++;
  job.passMoved = 0;
  job.passStartedAt = now;
  job.seenLateWrites = noted;
  delete job.cursor;
  delete job.finishedAt;
}

export function newTopologyJob(fields: {
  vault: string;
  id: string;
  from: string;
  kind: 'replace' | 'restripe';
  move?: { from: number; to: number };
  since: number;
  now: number;
}): TopologyJob {
  const at = new Date(fields.now).toISOString();
  return {
    vault: fields.vault,
    id: fields.id,
    from: fields.from,
    kind: fields.kind,
    ...(fields.move ? { move: fields.move } : {}),
    state: 'running',
    phase: 'count',
    since: fields.since,
    startedAt: at,
    updatedAt: at,
    invocations: 0,
    passes: 0,
    objectsDone: 0,
    segmentsDone: 0,
    segmentsTotal: 0,
    bytesMoved: 0,
    moveMs: 0,
    passMoved: 0,
    passStartedAt: fields.now,
    seenLateWrites: 0,
  };
}

/** Seconds left from the rate so far; undefined before there is a rate. */
export function jobEtaSeconds(job: TopologyJob): number | undefined {
  if (job.state !== 'running') return 0;
  if (job.segmentsDone === 0 || job.moveMs <= 0) return undefined;
  const left = Math.max(0, job.segmentsTotal - job.segmentsDone);
  return Math.ceil((left * job.moveMs) / job.segmentsDone / 1000);
}

/** The job as `GET /vaults/{vault}/topology/job` shows it. */
export function publicTopologyJob(job: TopologyJob) {
  const eta = jobEtaSeconds(job);
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    phase: job.phase,
    segmentsDone: job.segmentsDone,
    segmentsTotal: Math.max(job.segmentsTotal, job.segmentsDone),
    objectsDone: job.objectsDone,
    bytesMoved: job.bytesMoved,
    etaSeconds: eta ?? null,
    /** Seconds spent moving objects (the job also waits out the units' grace). */
    moveSeconds: job.moveMs / 1000,
    passes: job.passes,
    startedAt: job.startedAt,
    updatedAt: job.updatedAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    ...(job.move ? { move: job.move } : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}

/** A job queue message: carry on with job `id` of `vault`. */
export interface TopologyJobMessage {
  vault: string;
  id: string;
}

const jobMessageSchema: z.ZodType<TopologyJobMessage> = strictObject(
  { vault: nonEmptyString(), id: nonEmptyString() },
  'a topology job message field',
);

/** @throws InvalidParameterError naming the bad field. */
export function parseTopologyJobMessage(body: string): TopologyJobMessage {
  return parseJsonWith(jobMessageSchema, body, { name: 'message', qualified: true });
}

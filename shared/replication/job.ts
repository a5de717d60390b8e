/**
 * A replication job: "make the destination equal the source", with what a restart needs. The
 * job record holds the request and the controller's bookkeeping (planned or not, the restart
 * round); what was done lives in its tasks (task.ts), which the status log keeps.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { InvalidParameterError } from '../errors.ts';
import { parseWith, strictObject } from '../validate.ts';
import { describeSide, parseSide, type Side, sidesOverlap } from './side.ts';

export const JOB_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface ReplicationJob {
  id: string;
  source: Side;
  destination: Side;
  /** Delete destination objects that the source lacks. */
  deleteExtraneous: boolean;
  state: JobState;
  /** The plan (the diff written as tasks) is complete. */
  planned: boolean;
  /**
   * Bumped by each restart: a task queued in an earlier round whose copy did not finish is sent
   * again, with its attempt count raised, so the message of the earlier round is dropped.
   */
  round: number;
  restarts: number;
  migrations: number;
  /** Objects above this many bytes are copied in parts of this size. */
  partSize: number;
  /** The controller moves queued tasks off an overloaded worker (load-score.ts). */
  rebalance: boolean;
  /** The controller's execution (Step Functions), for redrive and stop. */
  executionArn?: string;
  startedAt: string;
  finishedAt?: string;
  /** Why the job failed when an end refused it (the controller's plan could not list it). */
  error?: string;
  /** A standing job fed by a vault's continuous rule, never planned nor finalized. */
  continuous?: boolean;
  /**
   * The plan's tasks and the bytes of its copies, counted in the log once planned. With them,
   * the controller's looks and the API read only the tasks not done (`openTasks`); a job
   * without them (a standing job, or one planned before they were kept) is read whole.
   */
  totals?: JobTotals;
}

export interface JobTotals {
  tasks: number;
  bytes: number;
}

/** The body of `POST /replications`. */
export const jobRequestSchema = strictObject(
  {
    source: z.unknown(),
    destination: z.unknown(),
    deleteExtraneous: z.boolean({ error: 'must be true or false' }).default(false),
    rebalance: z.boolean({ error: 'must be true or false' }).default(true),
  },
  'a replication field',
);

export interface JobRequest {
  source: Side;
  destination: Side;
  deleteExtraneous: boolean;
  rebalance: boolean;
}

/** @throws InvalidParameterError naming the field (`source.vault`, `deleteExtraneous`). */
export function parseJobRequest(body: unknown): JobRequest {
  const raw = parseWith(jobRequestSchema, body);
  const source = parseSide(raw.source, 'source');
  const destination = parseSide(raw.destination, 'destination');
  if (sidesOverlap(source, destination))
    throw new InvalidParameterError(
      'destination',
      `must not overlap the source: ${describeSide(destination)} and ${describeSide(source)} share keys, so the job would copy what it writes${raw.deleteExtraneous ? ' and delete source objects as extraneous' : ''}`,
    );
  return {
    source,
    destination,
    deleteExtraneous: raw.deleteExtraneous,
    rebalance: raw.rebalance,
  };
}

/** A new job id: time-ordered, so `ls` lists the newest first by id. */
export function newJobId(now: number): string {
  return `r${now.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;
}

export function newJob(
  request: JobRequest,
  opts: { id: string; partSize: number; at: Date },
): ReplicationJob {
  return {
    id: opts.id,
    source: request.source,
    destination: request.destination,
    deleteExtraneous: request.deleteExtraneous,
    rebalance: request.rebalance,
    state: 'running',
    planned: false,
    round: 1,
    restarts: 0,
    migrations: 0,
    partSize: opts.partSize,
    startedAt: opts.at.toISOString(),
  };
}

/** Whether the job has ended (a restart may start it again). */
export function jobEnded(job: ReplicationJob): boolean {
  return job.state !== 'running';
}

/**
 * The replication API: start a job, show it and its tasks, restart it (only unfinished tasks
 * are sent again; finished tasks keep their attempts), cancel it, and move an in-flight copy
 * to another worker.
 */

import { z } from 'zod';
import type { Clock } from '../clock.ts';
import {
  InvalidParameterError,
  ReplicationNotFoundError,
  ReplicationStateError,
  ReplicationTaskNotFoundError,
} from '../errors.ts';
import type { VaultStore } from '../store/index.ts';
import { decimalInteger, parseWith, resourceId, strictObject } from '../validate.ts';
import { restartStandingJob } from './continuous.ts';
import { newJob, newJobId, parseJobRequest, type ReplicationJob } from './job.ts';
import { bytesOf, lookAt } from './job-look.ts';
import { leastLoaded, workerLoads } from './load-score.ts';
import type { Controller, ReplicationLog, WorkerQueues } from './ports.ts';
import { isVaultSide } from './side.ts';
import { holderOf, publicTask, TASK_STATES } from './task.ts';

export interface JobsDeps {
  log: ReplicationLog;
  controller: Controller;
  /** The workers' queues, which a standing job's restart sends to itself. */
  queues: WorkerQueues;
  vaults: Pick<VaultStore, 'get'>;
  clock: Clock;
  workers: number;
  partSize: number;
}

export const MAX_TASK_LIMIT = 1000;

export const jobIdSchema = resourceId();

export function parseJobId(value: unknown, field = 'id'): string {
  return parseWith(jobIdSchema, value, { name: field });
}

async function jobOf(deps: Pick<JobsDeps, 'log'>, id: string): Promise<ReplicationJob> {
  const job = await deps.log.getJob(parseJobId(id));
  if (!job) throw new ReplicationNotFoundError(id);
  return job;
}

/**
 * Whether a one-off job is running with no controller to move it on: its execution failed (a
 * crash, an error) or was cut short, and only a restart sends what is unfinished.
 */
async function stalled(
  deps: Pick<JobsDeps, 'log' | 'controller'>,
  job: ReplicationJob,
): Promise<boolean> {
  if (job.state !== 'running' || job.continuous || !job.executionArn) return false;
  // Advisory: a view is not refused because Step Functions could not answer (throttled).
  const running = await deps.controller.running(job.executionArn).catch(() => true);
  if (running) return false;
  // The execution may have ended the job just now, or a restart started another: read again.
  const now = await deps.log.getJob(job.id);
  return now?.state === 'running' && now.executionArn === job.executionArn;
}

export const STALLED_ERROR =
  'the controller execution ended with the job unfinished; a restart sends what is unfinished';

/** The job as `GET /replications/{id}` shows it. */
export async function showReplication(
  deps: Pick<JobsDeps, 'log' | 'workers' | 'controller'>,
  id: string,
) {
  const job = await jobOf(deps, id);
  const [look, stuck] = await Promise.all([lookAt(deps.log, job), stalled(deps, job)]);
  return {
    id: job.id,
    state: job.state,
    source: job.source,
    destination: job.destination,
    deleteExtraneous: job.deleteExtraneous,
    planned: job.planned,
    partSize: job.partSize,
    tasks: look.counts,
    bytes: bytesOf(look, job),
    workers: workerLoads(look.tasks, deps.workers, job.partSize),
    migrations: job.migrations,
    restarts: job.restarts,
    startedAt: job.startedAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    ...(job.error ? { error: job.error } : stuck ? { error: STALLED_ERROR } : {}),
  };
}

/** Starts a job. @throws InvalidParameterError, VaultNotFoundError */
export async function startReplication(deps: JobsDeps, body: unknown) {
  const request = parseJobRequest(body);
  for (const side of [request.source, request.destination])
    if (isVaultSide(side)) await deps.vaults.get(side.vault);
  const now = deps.clock.date();
  const job = newJob(request, { id: newJobId(now.getTime()), partSize: deps.partSize, at: now });
  await deps.log.createJob(job);
  const executionArn = await deps.controller.start(job.id, `${job.id}-1`);
  await deps.log.updateJob(job.id, { executionArn });
  return showReplication(deps, job.id);
}

export const taskQuerySchema = strictObject(
  {
    state: z.enum(TASK_STATES, { error: `must be one of ${TASK_STATES.join(', ')}` }).optional(),
    limit: decimalInteger(1, MAX_TASK_LIMIT).optional(),
    cursor: z.string().max(2048).optional(),
  },
  'a query parameter',
);

/** A page of the job's tasks, optionally in one state. */
export async function listReplicationTasks(
  deps: Pick<JobsDeps, 'log'>,
  id: string,
  query: Record<string, string | undefined>,
) {
  const q = parseWith(taskQuerySchema, query, { name: 'query' });
  const job = await jobOf(deps, id);
  const page = await deps.log.tasks(job.id, q.limit ?? 100, q.cursor);
  return {
    tasks: page.tasks
      .filter((t) => q.state === undefined || t.state === q.state)
      .map((t) => publicTask(t, job.partSize)),
    cursor: page.cursor ?? null,
  };
}

/**
 * Restarts a job: a new round, in which every unfinished task is sent again (finished ones are
 * left alone, attempts and all). The controller's execution is redriven when it failed or was
 * cut short, or a new one is started. A standing job (a rule's) has no execution: its tasks are
 * sent from here (continuous.ts), while its rule stands.
 */
export async function restartReplication(deps: JobsDeps, id: string) {
  const job = await jobOf(deps, id);
  if (job.continuous) {
    if (job.state !== 'running')
      throw new ReplicationStateError(
        job.id,
        job.state,
        'a standing job ends with its rule; set the rule again instead',
      );
    await restartStandingJob({ ...deps, partSize: job.partSize }, job);
    return showReplication(deps, job.id);
  }
  await deps.log.openRound(job.id, job.round);
  if (job.state !== 'running')
    await deps.log.updateJob(job.id, { state: 'running', finishedAt: undefined, error: undefined });
  const arn = job.executionArn;
  const running = arn ? await deps.controller.running(arn) : false;
  if (!running && !(arn && job.state === 'running' && (await deps.controller.redrive(arn)))) {
    const executionArn = await deps.controller.start(job.id, `${job.id}-${job.round + 1}`);
    await deps.log.updateJob(job.id, { executionArn });
  }
  return showReplication(deps, job.id);
}

/** Cancels a running job: nothing more is sent, and workers drop what is queued. */
export async function cancelReplication(deps: JobsDeps, id: string) {
  const job = await jobOf(deps, id);
  // A standing job is its rule's: cancelled, it would drop every later commit while the rule
  // still showed, with no way to start it again.
  if (job.continuous)
    throw new ReplicationStateError(
      job.id,
      job.state,
      `a standing job ends with its rule: remove the rule (DELETE /vaults/${isVaultSide(job.source) ? job.source.vault : '{vault}'}/replication) instead`,
    );
  if (job.state !== 'running')
    throw new ReplicationStateError(job.id, job.state, 'only a running job can be cancelled');
  await deps.log.updateJob(
    job.id,
    { state: 'cancelled', finishedAt: deps.clock.date().toISOString() },
    ['running'],
  );
  if (job.executionArn) await deps.controller.stop(job.executionArn);
  return showReplication(deps, job.id);
}

export const migrateSchema = strictObject(
  { to: z.number().int().min(0).optional() },
  'a migrate field',
);

/**
 * Moves a task's copy to another worker from its last checkpoint: the current worker is asked
 * to stop, leaves the part in flight (worker.ts STOP_WATCH_MS), reports the parts it finished, and the rest goes to `to` (default: the least loaded
 * other worker) as soon as that report is logged (migration.ts).
 */
export async function migrateReplicationTask(
  deps: JobsDeps,
  id: string,
  taskIdText: string,
  body: unknown,
) {
  const { to } = parseWith(migrateSchema, body ?? {});
  const jobId = parseJobId(id);
  const taskId = parseJobId(taskIdText, 'task');
  // Both reads at once: the stop's pause starts with this call.
  const [job, task] = await Promise.all([jobOf(deps, jobId), deps.log.getTask(jobId, taskId)]);
  if (!task) throw new ReplicationTaskNotFoundError(job.id, taskId);
  if (to !== undefined && to >= deps.workers)
    throw new InvalidParameterError('to', `must be a worker 0..${deps.workers - 1}, got ${to}`);
  const holder = holderOf(task);
  if (deps.workers < 2)
    throw new ReplicationStateError(
      task.id,
      task.state,
      'the pool has one worker: nowhere to move',
    );
  const target =
    to ??
    leastLoaded(
      workerLoads((await lookAt(deps.log, job)).tasks, deps.workers, job.partSize).filter(
        (l) => l.worker !== holder,
      ),
    ).worker;
  if (!(await deps.log.requestStop(job.id, task.id, target, deps.clock.now())))
    throw new ReplicationStateError(task.id, task.state, 'only a queued or running copy moves');
  return { id: task.id, from: holder ?? null, to: target };
}

/** The query of `GET /replications`. */
export const jobListQuerySchema = strictObject(
  { limit: decimalInteger(1, 100).optional(), cursor: z.string().max(2048).optional() },
  'a query parameter',
);

/** Jobs, newest first. */
export async function listReplications(
  deps: Pick<JobsDeps, 'log'>,
  query: Record<string, string | undefined>,
) {
  const q = parseWith(jobListQuerySchema, query, { name: 'query' });
  const page = await deps.log.listJobs(q.limit ?? 50, q.cursor);
  return {
    replications: page.jobs.map((j) => ({
      id: j.id,
      state: j.state,
      source: j.source,
      destination: j.destination,
      startedAt: j.startedAt,
      ...(j.finishedAt ? { finishedAt: j.finishedAt } : {}),
    })),
    cursor: page.cursor ?? null,
  };
}

/**
 * The controller's steps, each run by a Task state of the replication state machine
 * (serverless.yml): plan → dispatch → wait (repeated, with a pause) → finalize. Each step reads
 * the log and is idempotent, so a redriven or restarted execution picks up where the log says:
 * only unfinished tasks are sent again.
 */
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { ReplicationNotFoundError, RoleLostError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type RoleDeps, withRole } from '../topology/index.ts';
import { parseWith, resourceId, strictObject } from '../validate.ts';
import type { ReplicationJob } from './job.ts';
import {
  allTasks,
  confirmFinished,
  type JobLook,
  lookAt,
  tally,
  tallyOpen,
  totalsOf,
} from './job-look.ts';
import {
  inFlightToMove,
  leastLoaded,
  REBALANCE_THRESHOLD,
  rebalancePair,
  remainingBytes,
  type WorkerLoad,
  workerLoads,
} from './load-score.ts';
import { planJob } from './planner.ts';
import type { CrashHook, ReplicationLog, SideOpener, WorkerQueues } from './ports.ts';
import { sendByWorker } from './send-task.ts';
import type { TaskMessage } from './status.ts';
import { watchTail } from './tail-watch.ts';
import { holderOf, MAX_ATTEMPTS, type ReplicationTask } from './task.ts';

export interface ControllerDeps {
  log: ReplicationLog;
  sides: SideOpener;
  queues: WorkerQueues;
  clock: Clock;
  logger: Logger;
  crash: CrashHook;
  /**
   * When given, rebalancing runs as the holder of the `replication-rebalancer` role (one
   * controller at a time), its task moves fenced by the token; a controller that cannot have
   * the role skips rebalancing this round.
   */
  roles?: RoleDeps;
}

export type ControllerStep = 'plan' | 'dispatch' | 'wait' | 'finalize';

/** What the wait step tells the state machine. */
export interface Progress {
  finished: boolean;
  /**
   * The step watched the job's last tasks (watchTail) without seeing them all end: it has
   * waited already, so the next look comes without the state machine's pause.
   */
  watched: boolean;
  total: number;
  done: number;
  failed: number;
  pending: number;
}

/** Tasks marked dispatched in the log at once, then sent, before the next ones. */
export const MARK_CHUNK = 40;

async function job(deps: Pick<ControllerDeps, 'log'>, id: string): Promise<ReplicationJob> {
  const found = await deps.log.getJob(id);
  if (!found) throw new ReplicationNotFoundError(id);
  return found;
}

/** Whether this dispatch should send the task: never sent, failed with attempts left, or left over from an earlier round. */
function dispatchable(task: ReplicationTask, round: number): boolean {
  if (task.state === 'pending') return true;
  if (task.state === 'failed') return task.attempts < MAX_ATTEMPTS || task.round < round;
  if (task.state === 'done') return false;
  // Stopped at a part boundary and its remainder not sent yet: the status log's consumer sends it
  // when it logs the stop (migration.ts), unless it died first or the stop was at the deadline.
  if (task.state === 'stopped') return true;
  return task.round < round;
}

/**
 * Errors of an end that no retry mends: its store refused the credentials or has no such
 * bucket, or the secret naming them could not be had (secret-credentials.ts).
 */
const REFUSALS = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'NoSuchBucket',
  'SecretCredentialsError',
]);

/**
 * plan: the diff into the log, once. An end that refuses the job (REFUSALS) fails it, with why,
 * and the state machine then finalizes it; any other error fails the execution, for a restart.
 */
export async function planStep(deps: ControllerDeps, jobId: string): Promise<void> {
  const j = await job(deps, jobId);
  if (j.state !== 'running' || j.planned) return;
  let found: number;
  try {
    found = await planJob(deps, j);
  } catch (err) {
    const { name, message } = err as Error;
    if (!REFUSALS.has(name)) throw err;
    const error = `${name}: ${message}`.slice(0, 2000);
    deps.logger.warn('replication refused by an end', { jobId, error });
    await deps.log.updateJob(
      jobId,
      { state: 'failed', error, finishedAt: deps.clock.date().toISOString() },
      ['running'],
    );
    return;
  }
  // The plan's totals, from the log: it holds every task this plan wrote, and any an earlier
  // run of it wrote before it died. One read of the whole job, here; later looks read what is
  // left (job-look.ts).
  const totals = totalsOf(await allTasks(deps.log, jobId));
  await deps.log.updateJob(jobId, { planned: true, totals }, ['running']);
  deps.logger.info('replication planned', { jobId, tasks: found });
  await deps.crash('after-plan', jobId);
}

/**
 * Sends `tasks` to workers, each to the least loaded (its score raised by what it gets), as
 * attempt `attempts + 1` of `round`. A task another dispatch took first is skipped.
 */
async function send(
  deps: ControllerDeps,
  j: ReplicationJob,
  tasks: ReplicationTask[],
  loads: WorkerLoad[],
  to?: number,
): Promise<number> {
  // Largest first, so the greedy assignment spreads bytes evenly. The log is marked a chunk at a
  // time, its marks at once, and each chunk is sent before the next is marked: the first copies
  // start after one chunk's round trips, not after one per task of the whole job.
  const sorted = [...tasks].sort((a, b) => b.size - a.size);
  let sent = 0;
  for (let i = 0; i < sorted.length; i += MARK_CHUNK) {
    // A dispatch outlives what it read: the job may have been cancelled, or cancelled and
    // restarted, since. A later round resends what this one leaves, so a stale dispatch stops
    // before its next marks rather than sending a task the new round sends too (two copies at
    // once of one object, each finding the other's unfinished).
    if (i > 0) {
      const now = await deps.log.getJob(j.id);
      if (now?.state !== 'running' || now.round !== j.round) {
        deps.logger.info('replication dispatch stopped: the job moved on', {
          jobId: j.id,
          state: now?.state,
          round: now?.round,
        });
        break;
      }
    }
    const chunk = sorted.slice(i, i + MARK_CHUNK).map((t) => {
      const target = to === undefined ? targetOf(t, loads) : (loads[to] as WorkerLoad);
      const bytes = remainingBytes(t, j.partSize);
      target.load += bytes;
      target.tasks += 1;
      return { t, target, bytes, attempt: t.attempts + 1 };
    });
    // Settled one by one: a mark that fails (the rebalancer's role lost midway, a throttled
    // write) must not keep the ones that won from being sent. A won mark names this attempt on
    // the task, and its worker drops any older message: unsent, the task would wait for good.
    const settled = await Promise.allSettled(
      chunk.map(({ t, target, attempt }) =>
        deps.log.markDispatched(t, {
          attempt,
          round: j.round,
          worker: target.worker,
          keepSource: t.partsDone > 0 || t.state === 'stopped',
          // A rebalancing move (`to`) of a queued task loses to a worker's claim on it.
          ...(to !== undefined && t.state === 'queued' ? { onlyQueued: true } : {}),
        }),
      ),
    );
    const marked = settled.map((r) => r.status === 'fulfilled' && r.value);
    const failed = settled.find((r) => r.status === 'rejected');
    const won: Array<{ worker: number; message: TaskMessage }> = [];
    for (const [n, c] of chunk.entries()) {
      if (!marked[n]) {
        // Another dispatch took it first.
        c.target.load -= c.bytes;
        c.target.tasks -= 1;
        continue;
      }
      if (c.t.state === 'stopped') await deps.log.countJob(j.id, 'migrations');
      won.push({
        worker: c.target.worker,
        message: { jobId: j.id, taskId: c.t.id, attempt: c.attempt },
      });
    }
    await sendByWorker(deps.queues, won, async (count) => {
      sent += count;
      if (sent < tasks.length) await deps.crash('mid-dispatch', j.id);
    });
    if (failed) throw failed.reason;
  }
  return sent;
}

/**
 * Where a task goes: a migrated one to the worker named for it (or, stopped at its deadline,
 * the least loaded other worker); any other to the least loaded.
 */
function targetOf(t: ReplicationTask, loads: WorkerLoad[]): WorkerLoad {
  if (t.state !== 'stopped') return leastLoaded(loads);
  const named = t.migrateTo === undefined ? undefined : loads[t.migrateTo];
  if (named) return named;
  const holder = holderOf(t);
  const others = loads.filter((l) => l.worker !== holder);
  return leastLoaded(others.length > 0 ? others : loads);
}

/**
 * dispatch, and each wait: sends what is dispatchable, moves queued tasks off an overloaded
 * worker, and reports progress. `finished` once nothing is unfinished (or the job ended).
 */
export async function dispatchStep(
  deps: ControllerDeps,
  jobId: string,
  watchMs = 0,
): Promise<Progress> {
  const j = await job(deps, jobId);
  const look = await lookAt(deps.log, j);
  if (j.state !== 'running') return { finished: true, watched: false, ...look.counts };
  const loads = workerLoads(look.tasks, deps.queues.count, j.partSize);
  const ready = look.tasks.filter((t) => dispatchable(t, j.round));
  if (ready.length > 0) await send(deps, j, ready, loads);
  if (j.rebalance) await rebalanceAsHolder(deps, j, look.tasks, loads);
  const after = ready.length > 0 ? await lookAt(deps.log, j) : look;
  if (after.counts.pending === 0) {
    const counts = await confirmFinished(deps.log, jobId, after);
    return { finished: counts.pending === 0, watched: false, ...counts };
  }
  const watch = await watchTail(deps, jobId, after, watchMs);
  if (watch.outcome !== 'ended')
    return { finished: false, watched: watch.outcome === 'watched', ...after.counts };
  // A one-off job's tasks are all in the log once it is planned, and a finished task stays
  // finished: the step's look, with each watched task as the watch last read it, is the log now.
  const now = after.tasks.flatMap((t) =>
    watch.read.has(t.id) ? (watch.read.get(t.id) ?? []) : [t],
  );
  const ended: JobLook = {
    tasks: now,
    counts: after.open ? tallyOpen(now, after.counts.total) : tally(now),
    open: after.open,
  };
  const counts = await confirmFinished(deps.log, jobId, ended);
  return { finished: counts.pending === 0, watched: true, ...counts };
}

/** Rebalancing, as the role's holder when the controller has roles. */
async function rebalanceAsHolder(
  deps: ControllerDeps,
  j: ReplicationJob,
  tasks: ReplicationTask[],
  loads: WorkerLoad[],
): Promise<void> {
  if (!deps.roles) return rebalance(deps, j, tasks, loads);
  try {
    const run = await withRole(deps.roles, 'replication-rebalancer', () =>
      rebalance(deps, j, tasks, loads),
    );
    if (!run.ran)
      deps.logger.info('replication rebalancer role held elsewhere', {
        jobId: j.id,
        holder: run.heldBy?.holder,
      });
  } catch (err) {
    // Lost midway: the later holder rebalances; this dispatch goes on.
    if (!(err instanceof RoleLostError)) throw err;
    deps.logger.warn('replication rebalancer role lost', { jobId: j.id, error: err });
  }
}

/**
 * Rebalancing: while the most loaded worker's score passes the least loaded one's by the
 * threshold, its queued tasks (not started) go to the least loaded one, as a new attempt; the
 * message already in the first worker's queue is then stale, and dropped when it comes. When
 * the queued ones cannot close the gap, one of its large copies in flight is asked to stop at
 * its next part boundary, its remainder going to the least loaded worker (a migration).
 */
async function rebalance(
  deps: ControllerDeps,
  j: ReplicationJob,
  tasks: ReplicationTask[],
  loads: WorkerLoad[],
): Promise<void> {
  const pair = rebalancePair(loads);
  if (!pair) return;
  const queued = tasks
    .filter((t) => t.state === 'queued' && holderOf(t) === pair.from.worker)
    // Largest first: the fewest moves close the gap (each move is a mark, a message and a
    // stale delivery dropped by the first worker).
    .sort((a, b) => b.size - a.size);
  const moving: ReplicationTask[] = [];
  let from = pair.from.load;
  let to = pair.to.load;
  for (const t of queued) {
    // Balanced enough: the next look would not move anything either.
    if ((from - to) / from <= REBALANCE_THRESHOLD) break;
    // Moving b bytes leaves loads (from - b, to + b): a move of more than half the gap would
    // make the other worker the more loaded, for the next look to move back.
    const bytes = remainingBytes(t, j.partSize);
    if (2 * bytes > from - to) continue;
    moving.push(t);
    from -= bytes;
    to += bytes;
  }
  const gap = from - to;
  if (moving.length > 0) {
    pair.from.load -= moving.reduce((n, t) => n + remainingBytes(t, j.partSize), 0);
    const moved = await send(deps, j, moving, loads, pair.to.worker);
    deps.logger.info('replication rebalanced', {
      jobId: j.id,
      from: pair.from.worker,
      to: pair.to.worker,
      tasks: moved,
    });
  }
  if (pair.from.load === 0 || gap / pair.from.load <= REBALANCE_THRESHOLD) return;
  const copy = inFlightToMove(tasks, pair.from.worker, gap, j.partSize);
  if (!copy) return;
  // Refused when the copy finished or stopped meanwhile: nothing to move then.
  if (await deps.log.requestStop(j.id, copy.task.id, pair.to.worker, deps.clock.now()))
    deps.logger.info('replication rebalanced a copy in flight', {
      jobId: j.id,
      task: copy.task.id,
      from: pair.from.worker,
      to: pair.to.worker,
      bytes: copy.bytes,
    });
}

/** finalize: the job ends succeeded, or failed when a task failed for good. */
export async function finalizeStep(deps: ControllerDeps, jobId: string): Promise<Progress> {
  const j = await job(deps, jobId);
  const counts = tally(await allTasks(deps.log, jobId));
  if (j.state === 'running') {
    await deps.log.updateJob(
      jobId,
      {
        state: counts.failed > 0 ? 'failed' : 'succeeded',
        finishedAt: deps.clock.date().toISOString(),
      },
      ['running'],
    );
  }
  return { finished: true, watched: false, ...counts };
}

/** What the state machine gives each step (serverless.yml `stepFunctions`). */
export interface ControllerInput {
  step: ControllerStep;
  jobId: string;
  /** dispatch and wait: how long to watch a job's last few tasks end (watchTail). */
  watchSeconds?: number;
}

const inputSchema = strictObject(
  {
    step: z.enum(['plan', 'dispatch', 'wait', 'finalize']),
    jobId: resourceId(),
    watchSeconds: z.number().min(0).max(60).optional(),
  },
  'a controller step field',
);

/** @throws InvalidParameterError naming the field of the step's input. */
export function parseControllerInput(input: unknown): ControllerInput {
  return parseWith(inputSchema, input, { name: 'input' });
}

/** Runs one step of the state machine. */
export async function runControllerStep(
  deps: ControllerDeps,
  step: ControllerStep,
  jobId: string,
  watchMs = 0,
): Promise<Progress | { jobId: string }> {
  switch (step) {
    case 'plan':
      await planStep(deps, jobId);
      return { jobId };
    case 'dispatch':
    case 'wait':
      return dispatchStep(deps, jobId, watchMs);
    case 'finalize':
      return finalizeStep(deps, jobId);
  }
}

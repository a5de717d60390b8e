/**
 * Continuous replication: a vault's rule names a destination, and a standing job (same log,
 * same workers) gets a task for each key committed or deleted in the vault. Commits come
 * through the committer's associated tasks (`replicationTask`), deletes through the delete
 * path's event bus (`replicationBus`), as the listeners system takes them. Both are idempotent:
 * the task id comes from the key and its revision, and only the first dispatch of it is sent.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { InvalidParameterError, ReplicationNotFoundError } from '../errors.ts';
import type { AssociatedTask, EventBus, VaultStore } from '../store/index.ts';
import { parseWith, strictObject } from '../validate.ts';
import { MARK_CHUNK } from './controller.ts';
import { newJob, newJobId, type ReplicationJob } from './job.ts';
import { allTasks } from './job-look.ts';
import { markedNotClaimed, resendLostDispatch } from './lost-dispatch.ts';
import type { ReplicationLog, WorkerQueues } from './ports.ts';
import type { ReplicationRule } from './rule.ts';
import { sendByWorker, sendTask } from './send-task.ts';
import { destinationKey, isVaultSide, parseSide, sourceKey } from './side.ts';
import { type ReplicationTask, type TaskKind, taskId } from './task.ts';

export interface ContinuousDeps {
  log: ReplicationLog;
  queues: WorkerQueues;
  clock: Clock;
  partSize: number;
}

export const ruleSchema = strictObject({ destination: z.unknown() }, 'a replication rule field');

/**
 * Sets the vault's rule (replacing one there: its standing job is cancelled) and opens its
 * standing job. @throws VaultNotFoundError, InvalidParameterError
 */
export async function putReplicationRule(
  deps: ContinuousDeps & { vaults: Pick<VaultStore, 'get'> },
  vault: string,
  body: unknown,
): Promise<ReplicationRule> {
  await deps.vaults.get(vault);
  const { destination: raw } = parseWith(ruleSchema, body);
  const destination = parseSide(raw, 'destination');
  if (isVaultSide(destination) && destination.vault === vault)
    throw new InvalidParameterError('destination', 'must not be the vault itself');
  const previous = await deps.log.getRule(vault);
  const now = deps.clock.date();
  const job = {
    ...newJob(
      { source: { vault, prefix: '' }, destination, deleteExtraneous: true, rebalance: false },
      { id: newJobId(now.getTime()), partSize: deps.partSize, at: now },
    ),
    planned: true,
    continuous: true,
  };
  await deps.log.createJob(job);
  const rule = { vault, destination, jobId: job.id, createdAt: now.toISOString() };
  await deps.log.putRule(rule);
  if (previous) await deps.log.updateJob(previous.jobId, { state: 'cancelled' }, ['running']);
  return rule;
}

/** @throws ReplicationNotFoundError when the vault has no rule. */
export async function getReplicationRule(
  deps: Pick<ContinuousDeps, 'log'>,
  vault: string,
): Promise<ReplicationRule> {
  const rule = await deps.log.getRule(vault);
  if (!rule) throw new ReplicationNotFoundError(`rule of vault ${vault}`);
  return rule;
}

/** Removes the rule; its standing job ends cancelled. @throws ReplicationNotFoundError */
export async function deleteReplicationRule(
  deps: Pick<ContinuousDeps, 'log' | 'clock'>,
  vault: string,
): Promise<void> {
  const rule = await getReplicationRule(deps, vault);
  await deps.log.removeRule(vault);
  await deps.log.updateJob(
    rule.jobId,
    { state: 'cancelled', finishedAt: deps.clock.date().toISOString() },
    ['running'],
  );
}

/** The worker of a key: always the same, so a key's tasks queue behind each other. */
function workerOf(key: string, workers: number): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % workers;
}

/** Adds and sends the task of one committed (`copy`) or deleted (`delete`) key. Idempotent. */
export async function replicateKey(
  deps: ContinuousDeps,
  change: { vault: string; kind: TaskKind; key: string; revision: string; size: number },
): Promise<void> {
  const rule = await deps.log.getRule(change.vault);
  if (!rule) return;
  const job = await deps.log.getJob(rule.jobId);
  if (job?.state !== 'running') return;
  const target = destinationKey(job.source, job.destination, change.key);
  const task: ReplicationTask = {
    jobId: job.id,
    id: taskId(change.kind, `${change.key}\0${change.revision}`),
    kind: change.kind,
    key: change.kind === 'copy' ? change.key : target,
    destinationKey: target,
    size: change.kind === 'copy' ? change.size : 0,
    modifiedAt: deps.clock.now(),
    // The revision committed: a copy of a later one is that commit's own task.
    ...(change.kind === 'copy' ? { revision: change.revision } : {}),
    state: 'pending',
    attempts: 0,
    round: 0,
    partsDone: 0,
    etags: {},
    bytesCopied: 0,
  };
  await deps.log.putTasks([task]);
  const worker = workerOf(change.key, deps.queues.count);
  if (await sendTask(deps, task, { attempt: 1, round: job.round, worker, keepSource: false }))
    return;
  // Marked already. The committer runs a commit's task again only when a run of it did not
  // finish, which may have died between the mark and the send: if the task is still waiting
  // for its first attempt, it goes again as the second (lost-dispatch.ts).
  const now = await deps.log.getTask(job.id, task.id);
  if (now && markedNotClaimed(now, 1))
    await resendLostDispatch(deps, now, { round: job.round, keepSource: false });
}

/**
 * Restarts a standing job (it has no controller to redrive): a new round, in which each task
 * not done is sent again as its next attempt, the failed ones whose attempts are spent too.
 * Each goes to the worker it was last sent to, so a key's tasks keep to one queue (a remainder
 * to the worker named for it); a task never sent goes to its key's worker. As in a one-off
 * job's restart, a copy still running sees its attempt moved on at its next part boundary and
 * stops there, the new attempt resuming after its checkpoint; and each message of an earlier
 * attempt still queued is stale at its worker's claim.
 * @returns how many tasks were sent.
 */
export async function restartStandingJob(
  deps: ContinuousDeps,
  job: ReplicationJob,
): Promise<number> {
  const round = (await deps.log.openRound(job.id, job.round))?.round ?? job.round + 1;
  const tasks = (await allTasks(deps.log, job.id)).filter((t) => t.state !== 'done');
  const workerFor = (t: ReplicationTask) =>
    (t.state === 'stopped' ? t.migrateTo : undefined) ??
    t.destinationWorker ??
    workerOf(sourceKey(job.source, job.destination, t.destinationKey), deps.queues.count);
  let sent = 0;
  for (let i = 0; i < tasks.length; i += MARK_CHUNK) {
    const chunk = tasks.slice(i, i + MARK_CHUNK).map((t) => ({ t, worker: workerFor(t) }));
    const marked = await Promise.all(
      chunk.map(({ t, worker }) =>
        deps.log.markDispatched(t, {
          attempt: t.attempts + 1,
          round,
          worker,
          keepSource: t.partsDone > 0 || t.state === 'stopped',
        }),
      ),
    );
    // A task sent meanwhile by someone else (a retry, a resend): that message is the live one.
    const won = chunk
      .filter((_, n) => marked[n])
      .map(({ t, worker }) => ({
        worker,
        message: { jobId: job.id, taskId: t.id, attempt: t.attempts + 1 },
      }));
    await sendByWorker(deps.queues, won);
    sent += won.length;
  }
  return sent;
}

/** The committer's associated task: a committed revision's key, copied. */
export function replicationTask(deps: ContinuousDeps): AssociatedTask {
  return (record) =>
    replicateKey(deps, {
      vault: record.vault,
      kind: 'copy',
      key: record.key,
      revision: record.revision,
      size: record.size ?? 0,
    });
}

/** The delete path's bus: a deleted key, deleted at the destination. */
export function replicationBus(deps: ContinuousDeps): EventBus {
  return {
    async publish(event) {
      if (event.type !== 'object.deleted') return;
      await replicateKey(deps, {
        vault: event.vault,
        kind: 'delete',
        key: event.key,
        revision: event.revision,
        size: 0,
      });
    },
  };
}

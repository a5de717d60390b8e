/** Replication jobs and tasks as the log holds them, for unit tests: defaults plus what a test sets. */
import type { Clock } from '../../shared/clock.ts';
import { silentLogger } from '../../shared/log.ts';
import type { ControllerDeps } from '../../shared/replication/controller.ts';
import type { ReplicationJob } from '../../shared/replication/job.ts';
import type { ReplicationLog } from '../../shared/replication/ports.ts';
import type { ReplicationTask } from '../../shared/replication/task.ts';

/** A running, planned vault-to-vault job `rjob` with 10-byte parts. */
export function replicationJob(fields: Partial<ReplicationJob> = {}): ReplicationJob {
  return {
    id: 'rjob',
    source: { vault: 'a', prefix: '' },
    destination: { vault: 'b', prefix: '' },
    deleteExtraneous: false,
    rebalance: false,
    state: 'running',
    planned: true,
    round: 1,
    restarts: 0,
    migrations: 0,
    partSize: 10,
    startedAt: '2026-01-01T00:00:00.000Z',
    ...fields,
  };
}

/** A queued copy `t` of key `k` (5 bytes) in job `rjob`, sent once. */
export function replicationTask(fields: Partial<ReplicationTask> = {}): ReplicationTask {
  return {
    jobId: 'rjob',
    id: 't',
    kind: 'copy',
    key: fields.key ?? 'k',
    destinationKey: fields.key ?? 'k',
    size: 5,
    modifiedAt: 0,
    state: 'queued',
    attempts: 1,
    round: 1,
    partsDone: 0,
    etags: {},
    bytesCopied: 0,
    ...fields,
  };
}

/**
 * `markDispatched` over one task held in memory, with the DynamoDB adapter's condition (its
 * attempts still `attempt - 1`, not done; still queued for a move). It reads, then writes after
 * a turn of the event loop, so two callers both read first, as two functions racing on DynamoDB
 * would.
 */
export function dispatchInMemory(task: ReplicationTask): ReplicationLog['markDispatched'] {
  return async (_t, f) => {
    await new Promise((r) => setImmediate(r));
    if (task.attempts !== f.attempt - 1 || task.state === 'done') return false;
    if (f.onlyQueued && task.state !== 'queued') return false;
    Object.assign(task, {
      attempts: f.attempt,
      round: f.round,
      state: 'queued',
      destinationWorker: f.worker,
      sourceWorker: f.keepSource ? (task.sourceWorker ?? f.worker) : f.worker,
    });
    delete task.migrateTo;
    return true;
  };
}

/**
 * A controller over `log` (only the calls a test's steps make) with two workers whose queues
 * refuse any send: for steps that are not to dispatch anything.
 */
export function controllerOver(log: Partial<ReplicationLog>, clock: Clock): ControllerDeps {
  return {
    log: log as ReplicationLog,
    sides: () => {
      throw new Error('not used by dispatch');
    },
    queues: {
      count: 2,
      send: async () => {
        throw new Error('nothing is dispatchable here');
      },
    },
    clock,
    logger: silentLogger,
    crash: async () => {},
  };
}

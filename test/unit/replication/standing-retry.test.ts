/**
 * A standing job's failed task sent again from the status log's consumer
 * (shared/replication/standing-retry.ts), once per failure, with a growing delay, until its
 * attempts are spent; and a delete that arrives after its key came back to the source is not
 * carried out (shared/replication/worker.ts). The fake log keeps the DynamoDB adapter's
 * condition on `markDispatched` (attempts still `attempt - 1`, not done).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import { silentLogger } from '../../../shared/log.ts';
import type { ReplicationJob } from '../../../shared/replication/job.ts';
import type { ObjectSide } from '../../../shared/replication/ports.ts';
import {
  retryDelaySeconds,
  retryStandingTaskOnce,
  type StandingRetryDeps,
} from '../../../shared/replication/standing-retry.ts';
import type { TaskMessage, TaskStatus } from '../../../shared/replication/status.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { runTask } from '../../../shared/replication/worker.ts';
import { dispatchInMemory, replicationJob, replicationTask } from '../../helpers/replication.ts';

const JOB = replicationJob({
  id: 'rstand',
  destination: { bucket: 'far', prefix: '' },
  deleteExtraneous: true,
  continuous: true,
});

/** A copy of `k` on worker 2 whose attempt `attempts` failed. */
const failedTask = (fields: Partial<ReplicationTask> = {}): ReplicationTask =>
  replicationTask({
    jobId: 'rstand',
    id: 'tk',
    sourceWorker: 2,
    destinationWorker: 2,
    state: 'failed',
    error: 'SlowDown: try again',
    ...fields,
  });

const failed = (attempt: number): TaskStatus => ({
  jobId: 'rstand',
  taskId: 'tk',
  attempt,
  worker: 2,
  type: 'failed',
  at: 0,
  error: 'SlowDown: try again',
});

function world(task: ReplicationTask, job: ReplicationJob = JOB) {
  const sent: Array<{ worker: number; message: TaskMessage; delay?: number }> = [];
  const deps: StandingRetryDeps = {
    log: {
      getJob: async () => ({ ...job }),
      getTask: async () => structuredClone(task),
      markDispatched: dispatchInMemory(task),
    },
    queues: {
      count: 4,
      send: async (worker, messages, delay) => {
        for (const message of messages) sent.push({ worker, message, delay });
      },
    },
    logger: silentLogger,
  };
  return { deps, sent, task };
}

test("a standing job's failed task is sent again once, to the same worker, after a delay", async () => {
  // Prepare
  const { deps, sent, task } = world(failedTask());

  // Act: the failure delivered three times, two of them at once.
  const outcomes = await Promise.all([
    retryStandingTaskOnce(deps, failed(1)).catch((err: Error) => err.name),
    retryStandingTaskOnce(deps, failed(1)).catch((err: Error) => err.name),
  ]);
  const late = await retryStandingTaskOnce(deps, failed(1));

  // Assess: the copy that lost asks for its status again, the retry not claimed yet.
  assert.deepEqual([...outcomes].sort(), ['DispatchInDoubtError', true]);
  assert.equal(late, false);
  assert.deepEqual(sent, [
    { worker: 2, message: { jobId: 'rstand', taskId: 'tk', attempt: 2 }, delay: 5 },
  ]);
  assert.equal(task.attempts, 2);
});

test('a failure delivered again after its run died between the mark and the send goes again as the next attempt, once', async () => {
  // Prepare: the first run marks attempt 2 and dies before its message leaves.
  const { deps, sent, task } = world(failedTask());
  const send = deps.queues.send;
  deps.queues.send = async () => {
    throw new Error('killed between the mark and the send');
  };
  await assert.rejects(retryStandingTaskOnce(deps, failed(1), { received: 1 }), /killed/);
  deps.queues.send = send;

  // Act: a fresh duplicate (received once), then the redelivery, twice at once, then once more.
  const duplicate = await retryStandingTaskOnce(deps, failed(1), { received: 1 });
  const again = await Promise.all([
    retryStandingTaskOnce(deps, failed(1), { received: 2 }),
    retryStandingTaskOnce(deps, failed(1), { received: 2 }),
  ]);
  const late = await retryStandingTaskOnce(deps, failed(1), { received: 3 });

  // Assess: one message, attempt 3 (a message of attempt 2, had it left, is stale at its claim).
  assert.equal(duplicate, false);
  assert.equal(again.filter(Boolean).length, 1);
  assert.equal(late, false);
  assert.deepEqual(sent, [
    { worker: 2, message: { jobId: 'rstand', taskId: 'tk', attempt: 3 }, delay: 5 },
  ]);
  assert.equal(task.attempts, 3);
  assert.equal(task.state, 'queued');
});

test('a failure delivered again sends nothing once the retry was claimed by its worker', async () => {
  // Prepare: the retry (attempt 2) went and its worker claimed it.
  const { deps, sent } = world(failedTask({ attempts: 2, state: 'running' }));

  // Act
  const again = await retryStandingTaskOnce(deps, failed(1), { received: 2 });

  // Assess
  assert.equal(again, false);
  assert.deepEqual(sent, []);
});

test('the delay grows with each attempt; the last attempt fails for good; a one-off job is left to its controller', async () => {
  // Prepare
  const second = world(failedTask({ attempts: 2 }));
  const last = world(failedTask({ attempts: 3 }));
  const oneOff = world(failedTask(), { ...JOB, continuous: false });
  const cancelled = world(failedTask(), { ...JOB, state: 'cancelled' });

  // Act
  const sent = [
    await retryStandingTaskOnce(second.deps, failed(2)),
    await retryStandingTaskOnce(last.deps, failed(3)),
    await retryStandingTaskOnce(oneOff.deps, failed(1)),
    await retryStandingTaskOnce(cancelled.deps, failed(1)),
  ];

  // Assess
  assert.deepEqual(sent, [true, false, false, false]);
  assert.equal(second.sent[0]?.delay, 20);
  assert.deepEqual([1, 2, 3, 4, 5].map(retryDelaySeconds), [5, 20, 80, 320, 900]);
  assert.equal(last.task.state, 'failed');
});

test('a delete whose key came back to the source is not carried out; one whose key is gone is', async () => {
  // Prepare: the source holds `back` again; `gone` it does not.
  const removed: string[] = [];
  const reported: string[] = [];
  const side = (has: Set<string>) =>
    ({
      head: async (key: string) => (has.has(key) ? { key, size: 1, modifiedAt: 0 } : undefined),
      remove: async (key: string) => {
        removed.push(key);
        has.delete(key);
      },
    }) as unknown as ObjectSide;
  // The source is the vault's `src/`, the destination the bucket's `dst/`; a delete task names
  // the destination's key, as the planner and the continuous rule write it.
  const source = side(new Set(['src/back']));
  const destination = side(new Set(['dst/back', 'dst/gone']));
  const job: ReplicationJob = {
    ...JOB,
    source: { vault: 'a', prefix: 'src/' },
    destination: { bucket: 'far', prefix: 'dst/' },
  };
  const task = (key: string) =>
    failedTask({
      id: key,
      kind: 'delete',
      key: `dst/${key}`,
      destinationKey: `dst/${key}`,
      state: 'queued',
    });
  const run = (key: string) =>
    runTask(
      {
        worker: 0,
        log: {
          getJob: async () => job,
          restartUpload: async () => true,
          claimTask: async () => ({ ...task(key), state: 'running' }),
          getTask: async () => task(key),
        },
        sides: (s) => ('vault' in s ? source : destination),
        statuses: { send: async (s) => void reported.push(`${s.taskId}:${s.type}`) },
        clock: systemClock,
        logger: silentLogger,
        crash: async () => {},
        remainingMs: () => 60_000,
        deadlineMarginMs: 1000,
      },
      { jobId: 'rstand', taskId: key, attempt: 1 },
    );

  // Act
  const outcomes = [await run('back'), await run('gone')];

  // Assess
  assert.deepEqual(outcomes, ['skipped', 'done']);
  assert.deepEqual(removed, ['dst/gone']);
  assert.deepEqual(reported, ['back:done', 'gone:done']);
});

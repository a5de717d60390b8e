/**
 * A continuous rule's task for a committed key (shared/replication/continuous.ts): sent once per
 * commit, and sent again as the next attempt when a run of the commit's task died between the
 * dispatch's mark and its message (shared/replication/lost-dispatch.ts). The fake log keeps the
 * DynamoDB adapter's conditions: a task is put only when absent, and `markDispatched` wins only
 * from `attempt - 1` (and, for a resend, only while queued).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import {
  type ContinuousDeps,
  replicateKey,
  restartStandingJob,
} from '../../../shared/replication/continuous.ts';
import type { ReplicationLog } from '../../../shared/replication/ports.ts';
import type { TaskMessage } from '../../../shared/replication/status.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { dispatchInMemory, replicationJob, replicationTask } from '../../helpers/replication.ts';

const JOB = replicationJob({
  id: 'rstand',
  source: { vault: 'src', prefix: '' },
  destination: { bucket: 'far', prefix: '' },
  continuous: true,
});

function world() {
  const tasks = new Map<string, ReplicationTask>();
  const sent: Array<{ worker: number; message: TaskMessage }> = [];
  let round = JOB.round;
  const log = {
    tasks: async () => ({ tasks: [...tasks.values()].map((t) => structuredClone(t)) }),
    // A round opened from the one the job is at: made again, it opens none more.
    openRound: async (_id: string, from: number) => {
      if (round === from) round++;
      return round > from ? { ...JOB, round } : undefined;
    },
    getRule: async () => ({
      vault: 'src',
      destination: JOB.destination,
      jobId: JOB.id,
      createdAt: JOB.startedAt,
    }),
    getJob: async () => ({ ...JOB }),
    putTasks: async (ts: ReplicationTask[]) => {
      for (const t of ts) if (!tasks.has(t.id)) tasks.set(t.id, structuredClone(t));
    },
    getTask: async (_job: string, id: string) => {
      const t = tasks.get(id);
      return t && structuredClone(t);
    },
    markDispatched: (
      t: Pick<ReplicationTask, 'id'>,
      f: Parameters<ReplicationLog['markDispatched']>[1],
    ) => dispatchInMemory(tasks.get(t.id) as ReplicationTask)(t as ReplicationTask, f),
  };
  const deps: ContinuousDeps = {
    log: log as unknown as ReplicationLog,
    queues: {
      count: 4,
      send: async (worker, messages) => {
        for (const message of messages) sent.push({ worker, message });
      },
    },
    clock: systemClock,
    partSize: 10,
  };
  const only = () => [...tasks.values()][0] as ReplicationTask;
  return { deps, sent, only, tasks };
}

const commit = { vault: 'src', kind: 'copy', key: 'k', revision: 'r1', size: 5 } as const;

test("a commit's task run again after it died between the mark and the send goes as the next attempt", async () => {
  // Prepare: the first run marks attempt 1 and dies before its message leaves.
  const w = world();
  const send = w.deps.queues.send;
  w.deps.queues.send = async () => {
    throw new Error('killed between the mark and the send');
  };
  await assert.rejects(replicateKey(w.deps, commit), /killed/);
  w.deps.queues.send = send;

  // Act: the committer runs the commit's task again.
  await replicateKey(w.deps, commit);

  // Assess
  assert.equal(w.sent.length, 1);
  assert.equal(w.sent[0]?.message.attempt, 2);
  assert.equal(w.only().attempts, 2);
  assert.equal(w.only().state, 'queued');
});

test("a commit's task run twice sends at most one live message, and nothing once a worker claimed it", async () => {
  // Prepare
  const w = world();

  // Act: two runs; then the worker claims attempt 2; then a third run.
  await replicateKey(w.deps, commit);
  await replicateKey(w.deps, commit);
  w.only().state = 'running';
  await replicateKey(w.deps, commit);

  // Assess: attempt 1, then attempt 2, which makes attempt 1's message stale at its claim.
  assert.deepEqual(
    w.sent.map((s) => s.message.attempt),
    [1, 2],
  );
  assert.equal(w.sent[0]?.worker, w.sent[1]?.worker);
  assert.equal(w.only().attempts, 2);
});

test('a standing job restarts: each task not done goes again as its next attempt, to the worker it was sent to', async () => {
  // Prepare: done; failed for good on worker 1; queued on worker 2 (its message lost); never
  // sent; stopped after 2 parts with its remainder named for worker 3.
  const w = world();
  const at = (id: string, fields: Partial<ReplicationTask>) =>
    w.tasks.set(id, replicationTask({ jobId: JOB.id, id, key: id, destinationKey: id, ...fields }));
  at('tdone', { state: 'done', attempts: 1, destinationWorker: 0 });
  at('tfailed', { state: 'failed', attempts: 3, destinationWorker: 1, error: 'SlowDown' });
  at('tlost', { state: 'queued', attempts: 1, destinationWorker: 2 });
  at('tnew', {
    state: 'pending',
    attempts: 0,
    sourceWorker: undefined,
    destinationWorker: undefined,
  });
  at('tstopped', {
    state: 'stopped',
    attempts: 1,
    sourceWorker: 0,
    destinationWorker: 0,
    partsDone: 2,
    migrateTo: 3,
  });

  // Act
  const sent = await restartStandingJob(w.deps, JOB);

  // Assess
  assert.equal(sent, 4);
  const by = new Map(w.sent.map((s) => [s.message.taskId, s]));
  assert.equal(by.has('tdone'), false);
  assert.deepEqual(
    ['tfailed', 'tlost', 'tnew', 'tstopped'].map((id) => by.get(id)?.message.attempt),
    [4, 2, 1, 2],
  );
  assert.equal(by.get('tfailed')?.worker, 1);
  assert.equal(by.get('tlost')?.worker, 2);
  assert.equal(by.get('tstopped')?.worker, 3);
  assert.equal(w.tasks.get('tstopped')?.sourceWorker, 0);
  assert.equal(w.tasks.get('tdone')?.attempts, 1);
  assert.equal(w.tasks.get('tfailed')?.state, 'queued');
  assert.equal(w.tasks.get('tfailed')?.round, JOB.round + 1);
});

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
import { type ContinuousDeps, replicateKey } from '../../../shared/replication/continuous.ts';
import type { ReplicationLog } from '../../../shared/replication/ports.ts';
import type { TaskMessage } from '../../../shared/replication/status.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { dispatchInMemory, replicationJob } from '../../helpers/replication.ts';

const JOB = replicationJob({
  id: 'rstand',
  source: { vault: 'src', prefix: '' },
  destination: { bucket: 'far', prefix: '' },
  continuous: true,
});

function world() {
  const tasks = new Map<string, ReplicationTask>();
  const sent: Array<{ worker: number; message: TaskMessage }> = [];
  const log = {
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
  return { deps, sent, only };
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

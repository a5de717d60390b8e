/**
 * A look at a job (shared/replication/job-look.ts): a planned job keeps its plan's totals, so
 * the controller's steps and the API read only the tasks not done, from the log's open index,
 * and never take the index's word alone for the job's end. The log here keeps its tasks in a
 * map and its index as a set of ids, which a test can hold back (an index behind the table).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import { dispatchStep } from '../../../shared/replication/controller.ts';
import type { ReplicationJob } from '../../../shared/replication/job.ts';
import { bytesOf, lookAt, tallyOpen } from '../../../shared/replication/job-look.ts';
import { showReplication } from '../../../shared/replication/jobs.ts';
import type { ReplicationLog } from '../../../shared/replication/ports.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { controllerOver, replicationJob, replicationTask } from '../../helpers/replication.ts';

function world(job: ReplicationJob, tasks: ReplicationTask[]) {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  /** The ids the open index shows; tasks not done, unless a test holds one back. */
  const indexed = new Set(tasks.filter((t) => t.state !== 'done').map((t) => t.id));
  const counts = { scanned: 0, indexRead: 0 };
  const page = (list: ReplicationTask[]) => ({ tasks: list.map((t) => structuredClone(t)) });
  const log: Partial<ReplicationLog> = {
    getJob: async () => structuredClone(job),
    tasks: async () => {
      counts.scanned += byId.size;
      return page([...byId.values()]);
    },
    openTasks: async () => {
      const open = [...byId.values()].filter((t) => indexed.has(t.id));
      counts.indexRead += open.length;
      return page(open);
    },
    getTask: async (_job, id) => structuredClone(byId.get(id)),
  };
  const deps = controllerOver(log, systemClock);
  return { deps, log: log as ReplicationLog, counts, indexed };
}

const done = (id: string, size = 5) => replicationTask({ id, key: id, size, state: 'done' });
const running = (id: string, fields: Partial<ReplicationTask> = {}) =>
  replicationTask({ id, key: id, state: 'running', destinationWorker: 0, ...fields });

test('a planned job is looked at through its tasks not done: done ones are counted, never read', async () => {
  // Prepare: 1000 tasks done, two running, one failed for good.
  const tasks = [
    ...Array.from({ length: 1000 }, (_, i) => done(`d${i}`)),
    running('a', { size: 30, partsDone: 2 }),
    running('b'),
    replicationTask({ id: 'f', key: 'f', state: 'failed', attempts: 3 }),
  ];
  const job = replicationJob({ totals: { tasks: 1003, bytes: 5000 + 30 + 5 + 5 } });
  const w = world(job, tasks);

  // Act
  const progress = await dispatchStep(w.deps, job.id);
  const shown = await showReplication({ log: w.log, workers: 2, controller: never() }, job.id);

  // Assess
  assert.deepEqual(progress, {
    finished: false,
    watched: false,
    total: 1003,
    done: 1000,
    failed: 1,
    pending: 2,
  });
  assert.equal(w.counts.scanned, 0, 'no read of the whole job');
  assert.equal(w.counts.indexRead, 2 * 3, 'the step and the API each read the three not done');
  assert.deepEqual(shown.tasks, { total: 1003, done: 1000, failed: 1, pending: 2 });
  // Copied: every done copy whole, `a` by its two 10-byte parts, `b` and `f` nothing.
  assert.deepEqual(shown.bytes, { total: 5040, copied: 5000 + 20 });
  assert.deepEqual(shown.workers[0], { worker: 0, load: 10 + 5, tasks: 2 });
});

test('the same counts as a read of the whole job, whichever way it is looked at', async () => {
  const tasks = [done('d1'), done('d2', 7), running('a', { size: 25, partsDone: 1 }), running('b')];
  const whole = world(replicationJob(), tasks);
  const open = world(replicationJob({ totals: { tasks: 4, bytes: 5 + 7 + 25 + 5 } }), tasks);

  const a = await lookAt(whole.log, replicationJob());
  const b = await lookAt(open.log, replicationJob({ totals: { tasks: 4, bytes: 42 } }));

  assert.equal(a.open, false);
  assert.equal(b.open, true);
  assert.deepEqual(b.counts, a.counts);
  assert.deepEqual(
    bytesOf(b, { partSize: 10, totals: { tasks: 4, bytes: 42 } }),
    bytesOf(a, { partSize: 10 }),
  );
});

test('an index that does not show a task yet never ends the job: the end is confirmed by a whole read', async () => {
  // Prepare: the index holds back `late`, just planned, never sent.
  const late = replicationTask({ id: 'late', key: 'late', state: 'pending', attempts: 0 });
  const job = replicationJob({ totals: { tasks: 2, bytes: 10 } });
  const w = world(job, [done('d'), late]);
  w.indexed.delete('late');
  const sent: unknown[] = [];
  w.deps.queues.send = async (_worker, messages) => {
    sent.push(...messages);
  };

  const progress = await dispatchStep(w.deps, job.id);

  // Assess: not finished; the whole read found it (the next look sends it).
  assert.equal(progress.finished, false);
  assert.deepEqual({ done: progress.done, pending: progress.pending }, { done: 1, pending: 1 });
  assert.equal(w.counts.scanned, 2, 'one read of the whole job, at the end in sight');
  assert.deepEqual(sent, [], 'nothing sent on the index behind');
});

test('a finished job is finished by the whole read that confirms it', async () => {
  const job = replicationJob({ totals: { tasks: 3, bytes: 15 } });
  const w = world(job, [done('a'), done('b'), done('c')]);

  const progress = await dispatchStep(w.deps, job.id);

  assert.deepEqual(progress, {
    finished: true,
    watched: false,
    total: 3,
    done: 3,
    failed: 0,
    pending: 0,
  });
  assert.equal(w.counts.indexRead, 0);
  assert.equal(w.counts.scanned, 3);
});

test('a task done just now, still in the index, is counted done', () => {
  const counts = tallyOpen([done('a'), running('b')], 5);
  assert.deepEqual(counts, { total: 5, done: 4, failed: 0, pending: 1 });
});

function never() {
  return {
    start: async () => 'arn',
    redrive: async () => false,
    running: async () => true,
    stop: async () => {},
  };
}

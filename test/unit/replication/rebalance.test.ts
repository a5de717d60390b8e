/**
 * Rebalancing in the controller's dispatch step (shared/replication/controller.ts): queued
 * tasks move off the most loaded worker first, the fewest that bring the pair under the
 * threshold; when they cannot close the gap, a large copy in
 * flight there is asked to stop at its next part boundary, its remainder going to the least
 * loaded worker. The fake log keeps the DynamoDB adapter's conditions on `markDispatched` and
 * `requestStop` (only a queued or running copy of the same attempt stops).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import { silentLogger } from '../../../shared/log.ts';
import { type ControllerDeps, dispatchStep } from '../../../shared/replication/controller.ts';
import type { ReplicationLog } from '../../../shared/replication/ports.ts';
import type { TaskMessage } from '../../../shared/replication/status.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { replicationJob, replicationTask } from '../../helpers/replication.ts';

const JOB = replicationJob({ rebalance: true });

/** A queued copy on worker 0. */
const task = (id: string, fields: Partial<ReplicationTask>): ReplicationTask =>
  replicationTask({ id, key: id, sourceWorker: 0, destinationWorker: 0, ...fields });

function world(tasks: ReplicationTask[], workers = 2) {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const sent: Array<{ worker: number; taskId: string; attempt: number }> = [];
  const stops: Array<{ taskId: string; to: number }> = [];
  const log: Partial<ReplicationLog> = {
    getJob: async () => ({ ...JOB }),
    tasks: async () => ({ tasks: [...byId.values()].map((t) => structuredClone(t)) }),
    markDispatched: async (t, f) => {
      const now = byId.get(t.id);
      if (!now || now.attempts !== f.attempt - 1 || now.state === 'done') return false;
      if (f.onlyQueued && now.state !== 'queued') return false;
      Object.assign(now, {
        attempts: f.attempt,
        round: f.round,
        state: 'queued',
        destinationWorker: f.worker,
      });
      return true;
    },
    requestStop: async (_job, taskId, to) => {
      const now = byId.get(taskId);
      if (!now || !['queued', 'running'].includes(now.state)) return false;
      Object.assign(now, { state: 'stopping', migrateTo: to });
      stops.push({ taskId, to });
      return true;
    },
    countJob: async () => ({ ...JOB }),
  };
  const deps: ControllerDeps = {
    log: log as ReplicationLog,
    sides: () => {
      throw new Error('not used by dispatch');
    },
    queues: {
      count: workers,
      send: async (worker: number, messages: TaskMessage[]) => {
        for (const m of messages) sent.push({ worker, taskId: m.taskId, attempt: m.attempt });
      },
    },
    clock: systemClock,
    logger: silentLogger,
    crash: async () => {},
  };
  return { deps, byId, sent, stops };
}

test('queued tasks that close the gap move, and no copy in flight is stopped', async () => {
  // Prepare: worker 0 holds a copy of 3 parts in flight (30 left) and two queued small tasks.
  const { deps, sent, stops } = world([
    task('big', { size: 30, state: 'running' }),
    task('q1', { size: 9 }),
    task('q2', { size: 8 }),
  ]);

  // Act
  await dispatchStep(deps, 'rjob');

  // Assess: loads 47 / 0; both queued tasks go to worker 1 (47 → 30 / 17), below the threshold.
  assert.deepEqual(sent.map((s) => `${s.taskId}->${s.worker}#${s.attempt}`).sort(), [
    'q1->1#2',
    'q2->1#2',
  ]);
  assert.deepEqual(stops, []);
});

test('the fewest queued tasks move: the largest that take at most half the gap first, and none once the pair is under the threshold', async () => {
  // Prepare: worker 0 holds 60 bytes queued: one of 20, one of 12 and twenty-eight of 1 (part
  // size 10: single-part copies). Worker 1 is idle.
  const { deps, sent } = world([
    task('q20', { size: 20 }),
    task('q12', { size: 12 }),
    ...Array.from({ length: 28 }, (_, i) => task(`s${i}`, { size: 1 })),
  ]);

  // Act
  await dispatchStep(deps, 'rjob');

  // Assess: 60 / 0, then the 20 moves: 40 / 20, (40 - 20) / 40 = 0.5, at the threshold: stop.
  // Smallest first, as before, moved the twenty-eight tasks of 1 instead.
  assert.deepEqual(
    sent.map((s) => `${s.taskId}->${s.worker}`),
    ['q20->1'],
  );
});

test('when queued tasks cannot close the gap, a large copy in flight on the most loaded worker migrates to the least loaded', async () => {
  // Prepare: workers 0 and 1 each copy a 10-part object in flight; worker 0 has two more, one
  // of 8 parts. Worker 2 is idle.
  const { deps, sent, stops, byId } = world(
    [
      task('a', { size: 100, state: 'running', partsDone: 6 }), // 40 left
      task('b', { size: 100, state: 'running', partsDone: 2 }), // 80 left
      task('c', { size: 100, state: 'running', destinationWorker: 1, partsDone: 5 }),
    ],
    3,
  );

  // Act
  await dispatchStep(deps, 'rjob');

  // Assess: loads 120 / 50 / 0. Nothing is queued; of the copies on worker 0, `b` would move 70
  // bytes (more than half the gap of 120: worker 2 would end up above worker 0), `a` 30.
  assert.deepEqual(sent, []);
  assert.deepEqual(stops, [{ taskId: 'a', to: 2 }]);
  assert.equal(byId.get('a')?.state, 'stopping');

  // Act again: the next dispatch round (the stop not yet taken) asks nothing more of `a`.
  await dispatchStep(deps, 'rjob');

  // Assess
  assert.deepEqual(stops, [{ taskId: 'a', to: 2 }]);
});

test('a lone copy in flight is not migrated back and forth between idle workers', async () => {
  // Prepare: one 10-part copy on worker 0, from three parts done to the last two left; worker 1
  // idle.
  for (const partsDone of [3, 7, 8]) {
    const { deps, stops } = world([task('lone', { size: 100, state: 'running', partsDone })]);

    // Act
    await dispatchStep(deps, 'rjob');

    // Assess
    assert.deepEqual(stops, [], `${partsDone} parts done`);
  }
});

test('a dispatch whose job was cancelled, or restarted into a new round, after its first chunk sends no more', async () => {
  for (const moved of [{ state: 'cancelled' as const }, { round: 2 }]) {
    // Prepare: 50 pending tasks, more than one chunk of marks; the job moves on once the
    // first chunk is sent.
    const tasks = Array.from({ length: 50 }, (_, i) =>
      task(`p${i}`, { size: 1, state: 'pending', attempts: 0, round: 0 }),
    );
    const { deps, sent } = world(tasks);
    let job = replicationJob();
    deps.log.getJob = async () => ({ ...job });
    const send = deps.queues.send;
    deps.queues.send = async (worker, messages) => {
      await send(worker, messages);
      job = replicationJob(moved);
    };

    // Act
    await dispatchStep(deps, 'rjob');

    // Assess: the first chunk of 40 only.
    assert.equal(sent.length, 40, JSON.stringify(moved));
  }
});

test('a queued task its worker claims while the move is decided stays with that worker', async () => {
  // Prepare: worker 0 holds a small and a large queued task (loads 9 / 0: the small one is the
  // move); its worker claims the small one after the controller read the log and before the
  // move is written (its claim, unlike a status, is in the log at once).
  const { deps, byId, sent } = world([task('q1', { size: 1 }), task('q2', { size: 8 })]);
  const mark = deps.log.markDispatched;
  const tried: Array<{ id: string; onlyQueued?: boolean }> = [];
  deps.log.markDispatched = async (t, f) => {
    tried.push({ id: t.id, onlyQueued: f.onlyQueued });
    (byId.get('q1') as ReplicationTask).state = 'running';
    return mark(t, f);
  };

  // Act
  await dispatchStep(deps, 'rjob');

  // Assess: the move was tried as a move, lost to the claim, and nothing was sent.
  assert.deepEqual(tried, [{ id: 'q1', onlyQueued: true }]);
  assert.deepEqual(sent, []);
  assert.equal(byId.get('q1')?.attempts, 1);
  assert.equal(byId.get('q1')?.destinationWorker, 0);
});

test('a dispatch whose mark fails for one task (a lost role, a throttled write) still sends the tasks it marked, then fails', async () => {
  // Prepare: three pending tasks; the log refuses the second's mark with an error.
  const tasks = ['p0', 'p1', 'p2'].map((id) =>
    task(id, { size: 1, state: 'pending', attempts: 0, round: 0 }),
  );
  const { deps, byId, sent } = world(tasks);
  const mark = deps.log.markDispatched;
  deps.log.markDispatched = async (t, f) => {
    if (t.id === 'p1') throw new Error('the rebalancer role was taken over');
    return mark(t, f);
  };

  // Act
  await assert.rejects(dispatchStep(deps, 'rjob'), /taken over/);

  // Assess: every task marked for an attempt has its message, so none waits for good.
  const marked = [...byId.values()].filter((t) => t.attempts === 1).map((t) => t.id);
  assert.deepEqual(marked.sort(), ['p0', 'p2']);
  assert.deepEqual(sent.map((s) => s.taskId).sort(), ['p0', 'p2']);
});

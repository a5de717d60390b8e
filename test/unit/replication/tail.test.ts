/**
 * A job's end, watched (shared/replication/controller.ts `watchTail`): when a few tasks are
 * left and all in flight, the dispatch and wait steps read just those until they end, for up to
 * the watch time, so the state machine sees the end as it comes rather than after its pause.
 * The clock here moves by each sleep, and the log's tasks change as the test's script says.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../../../shared/clock.ts';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { dispatchStep, parseControllerInput } from '../../../shared/replication/controller.ts';
import type { ReplicationLog } from '../../../shared/replication/ports.ts';
import {
  TAIL_INDEX_TASKS,
  TAIL_LOOK_MS,
  TAIL_TASKS,
} from '../../../shared/replication/tail-watch.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { controllerOver, replicationJob, replicationTask } from '../../helpers/replication.ts';

/**
 * A log holding `tasks` (running on worker 0), and a clock at 0 that each sleep moves on. At
 * each look (a round of the watch's reads), `script(look, task)` may change a task.
 */
function world(
  tasks: ReplicationTask[],
  script: (look: number, task: ReplicationTask) => void = () => {},
  job = replicationJob(),
) {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const counts = { reads: 0, looks: 0, slept: 0, scans: 0, indexReads: 0 };
  let now = 0;
  const clock: Clock = {
    now: () => now,
    date: () => new Date(now),
    sleep: async (ms) => {
      now += ms;
      counts.slept += ms;
      counts.looks++;
      for (const t of byId.values()) script(counts.looks, t);
    },
  };
  const log: Partial<ReplicationLog> = {
    getJob: async () => job,
    // The open index: the tasks not done, in key order, a page of `limit`.
    openTasks: async (_job, limit) => {
      counts.indexReads++;
      const open = [...byId.values()].filter((t) => t.state !== 'done');
      return {
        tasks: open.slice(0, limit).map((t) => structuredClone(t)),
        ...(open.length > limit ? { cursor: 'more' } : {}),
      };
    },
    tasks: async () => {
      counts.scans++;
      return { tasks: [...byId.values()].map((t) => structuredClone(t)) };
    },
    getTask: async (_job, id) => {
      counts.reads++;
      const t = byId.get(id);
      return t && structuredClone(t);
    },
  };
  const deps = controllerOver(log, clock);
  return { deps, counts };
}

const running = (id: string, fields: Partial<ReplicationTask> = {}) =>
  replicationTask({ id, key: id, state: 'running', destinationWorker: 0, ...fields });

test("the last tasks are watched until they end, and the step says the job's finished", async () => {
  // Prepare: two copies in flight, done at the second and third look.
  const w = world(
    [running('a'), running('b'), replicationTask({ id: 'c', state: 'done' })],
    (look, t) => {
      if ((t.id === 'a' && look === 2) || (t.id === 'b' && look === 3)) t.state = 'done';
    },
  );

  // Act
  const progress = await dispatchStep(w.deps, 'rjob', 5000);

  // Assess: finished, after three looks, each reading only what was left.
  assert.deepEqual(progress, {
    finished: true,
    watched: true,
    total: 3,
    done: 3,
    failed: 0,
    pending: 0,
  });
  assert.equal(w.counts.looks, 3);
  assert.equal(w.counts.slept, 3 * TAIL_LOOK_MS);
  assert.equal(w.counts.reads, 2 + 2 + 1);
  assert.equal(w.counts.scans, 1, "the end is tallied from the step's read and the watch's");
});

test('a watched task that needs the controller (failed with attempts left) ends the watch at once', async () => {
  const w = world([running('a'), running('b')], (look, t) => {
    if (t.id === 'a' && look === 2) Object.assign(t, { state: 'failed', error: 'refused' });
  });

  const progress = await dispatchStep(w.deps, 'rjob', 5000);

  // Watched: the next look comes without the pause, and sends the failed task again.
  assert.equal(progress.finished, false);
  assert.equal(progress.watched, true);
  assert.equal(w.counts.looks, 2);
});

test('tasks still in flight at the end of the watch time: not finished, and no look past it', async () => {
  const w = world([running('a')]);

  const progress = await dispatchStep(w.deps, 'rjob', 1000);

  assert.equal(progress.finished, false);
  assert.equal(progress.watched, true);
  assert.equal(w.counts.slept, 1000);
  assert.equal(w.counts.looks, Math.ceil(1000 / TAIL_LOOK_MS));
});

test('no watch with more than TAIL_TASKS left of a job not planned yet (no index), more than TAIL_INDEX_TASKS, or no watch time', async () => {
  const many = Array.from({ length: TAIL_TASKS + 1 }, (_, i) => running(`t${i}`));
  const tooMany = Array.from({ length: TAIL_INDEX_TASKS + 1 }, (_, i) => running(`t${i}`));
  const planned = replicationJob({ totals: { tasks: tooMany.length, bytes: 0 } });
  for (const [tasks, watchMs, job] of [
    [many, 5000, replicationJob()],
    [tooMany, 5000, planned],
    [[running('a')], 0, replicationJob()],
  ] as const) {
    const w = world([...tasks], () => {}, job);
    const progress = await dispatchStep(w.deps, 'rjob', watchMs);
    assert.equal(progress.finished, false);
    assert.equal(progress.watched, false, 'the pause comes next');
    assert.equal(w.counts.reads, 0, `${tasks.length} tasks, ${watchMs} ms`);
  }
});

test('with more than TAIL_TASKS left, the open index is read until few enough are, then just those', async () => {
  // Prepare: a planned job (its looks come from the open index) with TAIL_TASKS + 4 copies in
  // flight; all but two end at the second look, those two at the fourth.
  const n = TAIL_TASKS + 4;
  const tasks = Array.from({ length: n }, (_, i) => running(`t${String(i).padStart(2, '0')}`));
  const w = world(
    tasks,
    (look, t) => {
      const last = t.id === 't00' || t.id === 't01';
      if ((!last && look === 2) || (last && look === 4)) t.state = 'done';
    },
    replicationJob({ totals: { tasks: n, bytes: n * 5 } }),
  );

  // Act
  const progress = await dispatchStep(w.deps, 'rjob', 5000);

  // Assess: two index reads of at most TAIL_TASKS + 1 (the step's own look is one more), then
  // the two left read one by one, twice; the end confirmed by one read of the whole job.
  assert.deepEqual(progress, {
    finished: true,
    watched: true,
    total: n,
    done: n,
    failed: 0,
    pending: 0,
  });
  assert.equal(w.counts.looks, 4);
  assert.equal(w.counts.indexReads, 1 + 2);
  assert.equal(w.counts.reads, 2 + 2);
  assert.equal(w.counts.scans, 1);
});

test('with more than TAIL_TASKS left, the index watch ends at the watch time, or at a task that needs the controller', async () => {
  const n = TAIL_TASKS + 2;
  const planned = replicationJob({ totals: { tasks: n, bytes: n * 5 } });
  const tasks = () => Array.from({ length: n }, (_, i) => running(`t${i}`));

  const still = world(tasks(), () => {}, planned);
  const progress = await dispatchStep(still.deps, 'rjob', 1000);
  assert.equal(progress.finished, false);
  assert.equal(progress.watched, true);
  assert.equal(still.counts.slept, 1000);
  assert.equal(still.counts.reads, 0);

  const failing = world(
    tasks(),
    (look, t) => {
      if (t.id === 't0' && look === 2) Object.assign(t, { state: 'failed', error: 'refused' });
    },
    planned,
  );
  const early = await dispatchStep(failing.deps, 'rjob', 5000);
  assert.equal(early.finished, false);
  assert.equal(early.watched, true);
  assert.equal(failing.counts.looks, 2);
});

test("a step's input is checked: a bad field is named, with its rule", () => {
  assert.deepEqual(parseControllerInput({ step: 'wait', jobId: 'r1', watchSeconds: 1 }), {
    step: 'wait',
    jobId: 'r1',
    watchSeconds: 1,
  });
  assert.throws(
    () => parseControllerInput({ step: 'nap', jobId: 'r1' }),
    (err: Error) => err instanceof InvalidParameterError && /step/.test(err.message),
  );
  assert.throws(
    () => parseControllerInput({ step: 'wait', jobId: 'r1', watchSeconds: 3600 }),
    (err: Error) => err instanceof InvalidParameterError && /watchSeconds/.test(err.message),
  );
});

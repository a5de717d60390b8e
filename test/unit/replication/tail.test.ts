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
import {
  dispatchStep,
  parseControllerInput,
  TAIL_LOOK_MS,
  TAIL_TASKS,
} from '../../../shared/replication/controller.ts';
import type { ReplicationLog } from '../../../shared/replication/ports.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { controllerOver, replicationJob, replicationTask } from '../../helpers/replication.ts';

/**
 * A log holding `tasks` (running on worker 0), and a clock at 0 that each sleep moves on. At
 * each look (a round of the watch's reads), `script(look, task)` may change a task.
 */
function world(
  tasks: ReplicationTask[],
  script: (look: number, task: ReplicationTask) => void = () => {},
) {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const counts = { reads: 0, looks: 0, slept: 0, scans: 0 };
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
    getJob: async () => replicationJob(),
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

test('no watch with more than TAIL_TASKS left, or with no watch time', async () => {
  const many = Array.from({ length: TAIL_TASKS + 1 }, (_, i) => running(`t${i}`));
  for (const [tasks, watchMs] of [
    [many, 5000],
    [[running('a')], 0],
  ] as const) {
    const w = world([...tasks]);
    const progress = await dispatchStep(w.deps, 'rjob', watchMs);
    assert.equal(progress.finished, false);
    assert.equal(progress.watched, false, 'the pause comes next');
    assert.equal(w.counts.reads, 0, `${tasks.length} tasks, ${watchMs} ms`);
  }
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

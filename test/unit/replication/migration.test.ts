/**
 * Migration's remainder (shared/replication/migration.ts): sent once the `stopped` status is
 * logged, by whoever wins the task's conditional dispatch. The fake log keeps the DynamoDB
 * adapter's condition on `markDispatched` (attempts still `attempt - 1`, not done); the same
 * protocol runs on the local cloud's DynamoDB in test/integration/replication.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../shared/log.ts';
import type { ReplicationJob } from '../../../shared/replication/job.ts';
import { type RemainderDeps, sendRemainderOnce } from '../../../shared/replication/migration.ts';
import type { TaskMessage, TaskStatus } from '../../../shared/replication/status.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { dispatchInMemory, replicationJob, replicationTask } from '../../helpers/replication.ts';

const JOB = replicationJob();

/** A five-part copy stopped by worker 0 after parts 1..2 (attempt 1), asked to move to worker 3. */
const stoppedTask = (fields: Partial<ReplicationTask> = {}): ReplicationTask =>
  replicationTask({
    id: 'tbig',
    key: 'big',
    size: 50,
    sourceWorker: 0,
    destinationWorker: 0,
    state: 'stopped',
    partsDone: 2,
    uploadId: 'u1',
    etags: { 1: 'e1', 2: 'e2' },
    bytesCopied: 20,
    migrateTo: 3,
    ...fields,
  });

const stopped: TaskStatus = {
  jobId: 'rjob',
  taskId: 'tbig',
  attempt: 1,
  worker: 0,
  type: 'stopped',
  at: 0,
  uploadId: 'u1',
  part: 2,
  etag: 'e2',
};

/** The log's part that the remainder touches, with the DynamoDB adapter's conditions. */
function world(task: ReplicationTask) {
  const job = { ...JOB };
  const sent: Array<{ worker: number; message: TaskMessage; delay?: number }> = [];
  const deps: RemainderDeps = {
    log: {
      getJob: async () => ({ ...job }),
      getTask: async () => structuredClone(task),
      markDispatched: dispatchInMemory(task),
      countJob: async () => {
        job.migrations += 1;
        return { ...job };
      },
    },
    queues: {
      count: 4,
      send: async (worker, messages, delay) => {
        for (const message of messages) sent.push({ worker, message, ...(delay ? { delay } : {}) });
      },
    },
    logger: silentLogger,
  };
  return { deps, sent, task, job };
}

test('a stopped status delivered twice, at once and again later, sends one remainder; the copy that lost has its message come again', async () => {
  // Prepare
  const w = world(stoppedTask());

  // Act
  const first = await Promise.allSettled([
    sendRemainderOnce(w.deps, stopped),
    sendRemainderOnce(w.deps, stopped),
  ]);
  const later = await sendRemainderOnce(w.deps, stopped);

  // Assess: the loser cannot know the winner's message left (SQS deletes the message for
  // either copy's acknowledgement), so it throws; a redelivery finds it claimed or sends it.
  assert.deepEqual(first.map((o) => (o.status === 'fulfilled' ? o.value : o.reason.name)).sort(), [
    'DispatchInDoubtError',
    true,
  ]);
  assert.equal(later, false);
  assert.deepEqual(w.sent, [{ worker: 3, message: { jobId: 'rjob', taskId: 'tbig', attempt: 2 } }]);
  assert.equal(w.job.migrations, 1);
  assert.equal(w.task.sourceWorker, 0);
  assert.equal(w.task.destinationWorker, 3);
});

test('a stopped status that comes after the remainder left, or after the copy resumed, sends nothing', async () => {
  for (const fields of [
    { state: 'queued', attempts: 2, destinationWorker: 3 },
    { state: 'running', attempts: 2, destinationWorker: 3, partsDone: 3 },
    { state: 'done', attempts: 2, destinationWorker: 3, partsDone: 5 },
  ] as const) {
    // Prepare
    const w = world(stoppedTask({ ...fields, migrateTo: undefined }));

    // Act
    const sentNow = await sendRemainderOnce(w.deps, stopped);

    // Assess
    assert.equal(sentNow, false, fields.state);
    assert.deepEqual(w.sent, [], fields.state);
  }
});

test('a stopped status delivered again after its run died before the remainder left sends it as the next attempt, keeping the source worker', async () => {
  // Prepare: the first run marks the remainder (attempt 2, to worker 3) and dies before sending.
  const w = world(stoppedTask());
  const send = w.deps.queues.send;
  w.deps.queues.send = async () => {
    throw new Error('killed between the mark and the send');
  };
  await assert.rejects(sendRemainderOnce(w.deps, stopped, { received: 1 }), /killed/);
  w.deps.queues.send = send;

  // Act: a fresh duplicate sends nothing; the redelivery sends; a later one does not.
  const duplicate = await sendRemainderOnce(w.deps, stopped, { received: 1 });
  const again = await sendRemainderOnce(w.deps, stopped, { received: 2 });
  const late = await sendRemainderOnce(w.deps, stopped, { received: 3 });

  // Assess
  assert.deepEqual([duplicate, again, late], [false, true, false]);
  assert.deepEqual(w.sent, [{ worker: 3, message: { jobId: 'rjob', taskId: 'tbig', attempt: 3 } }]);
  assert.equal(w.task.sourceWorker, 0);
  assert.equal(w.task.destinationWorker, 3);
});

test('the controller and the status log racing for the remainder send it once', async () => {
  // Prepare: the controller's dispatch of the same stopped task, through the same write.
  const w = world(stoppedTask());
  const controller = async () => {
    const won = await w.deps.log.markDispatched(w.task, {
      attempt: 2,
      round: 1,
      worker: 3,
      keepSource: true,
    });
    if (won) await w.deps.queues.send(3, [{ jobId: 'rjob', taskId: 'tbig', attempt: 2 }]);
    return won;
  };

  // Act
  const [byController, byLog] = await Promise.all([
    controller(),
    sendRemainderOnce(w.deps, stopped).catch((err: Error) => err.name),
  ]);

  // Assess: the status log, had it lost, asks for its status again (the remainder unclaimed).
  assert.equal(Number(byController) + Number(byLog === true), 1);
  if (byController) assert.equal(byLog, 'DispatchInDoubtError');
  assert.equal(w.sent.length, 1);
});

test('a stop at the deadline, a checkpoint not logged yet, or an ended job is left to the controller', async () => {
  const cases: Array<[string, ReplicationTask, Partial<ReplicationJob>]> = [
    ['deadline', stoppedTask({ migrateTo: undefined }), {}],
    ['gap', stoppedTask({ etags: { 2: 'e2' } }), {}],
    ['cancelled', stoppedTask(), { state: 'cancelled' }],
  ];
  for (const [name, task, jobFields] of cases) {
    // Prepare
    const w = world(task);
    Object.assign(w.job, jobFields);

    // Act
    const sentNow = await sendRemainderOnce(w.deps, stopped);

    // Assess
    assert.equal(sentNow, false, name);
    assert.deepEqual(w.sent, [], name);
    assert.equal(w.task.attempts, 1, name);
  }
});

test('the task and job the stop already read are not read again; the remainder still goes once', async () => {
  // Prepare: the log's reads count.
  const w = world(stoppedTask());
  let reads = 0;
  const log = w.deps.log;
  const deps: RemainderDeps = {
    ...w.deps,
    log: {
      ...log,
      getJob: async (id) => {
        reads++;
        return log.getJob(id);
      },
      getTask: async (job, id) => {
        reads++;
        return log.getTask(job, id);
      },
    },
  };

  // Act: as the stop's own write returned the task, and the job read beside it.
  const known = { job: await log.getJob('rjob'), task: stoppedTask() };
  const sent = await sendRemainderOnce(deps, stopped, undefined, known);
  const readsToSend = reads;
  const again = await sendRemainderOnce(deps, stopped, undefined, known).catch(
    (err: Error) => err.name,
  );

  // Assess: the second call's stale view loses the conditional dispatch, and asks to come
  // again while the remainder is unclaimed.
  assert.equal(readsToSend, 0);
  assert.equal(sent, true);
  assert.equal(again, 'DispatchInDoubtError');
  assert.deepEqual(w.sent, [{ worker: 3, message: { jobId: 'rjob', taskId: 'tbig', attempt: 2 } }]);
});

test("a standing job's copy stopped at its deadline goes on from its own worker; with a checkpoint not logged yet, its message waits in the queue", async () => {
  for (const [name, fields, delay] of [
    ['whole', {}, undefined],
    ['gap', { etags: { 2: 'e2' } }, 5],
  ] as const) {
    // Prepare: a standing job (no controller); the stop was the worker's own, at its deadline.
    const w = world(stoppedTask({ migrateTo: undefined, ...fields }));
    w.job.continuous = true;

    // Act
    const sentNow = await sendRemainderOnce(w.deps, stopped);

    // Assess
    assert.equal(sentNow, true, name);
    assert.deepEqual(
      w.sent,
      [
        {
          worker: 0,
          message: { jobId: 'rjob', taskId: 'tbig', attempt: 2 },
          ...(delay ? { delay } : {}),
        },
      ],
      name,
    );
    assert.equal(w.task.attempts, 2, name);
  }
});

test('a mark applied whose answer was lost (its retry refused): the status comes again, and its redelivery sends the remainder', async () => {
  // Prepare: the mark applies and answers no, as a retried request would.
  const w = world(stoppedTask());
  const mark = w.deps.log.markDispatched;
  w.deps.log.markDispatched = async (...args) => {
    await mark(...args);
    return false;
  };
  await assert.rejects(sendRemainderOnce(w.deps, stopped, { received: 1 }), {
    name: 'DispatchInDoubtError',
  });
  w.deps.log.markDispatched = mark;

  // Act: the status again, as SQS brings it back.
  const again = await sendRemainderOnce(w.deps, stopped, { received: 2 });

  // Assess: sent once, as the next attempt, to the worker it was marked for.
  assert.equal(again, true);
  assert.deepEqual(w.sent, [{ worker: 3, message: { jobId: 'rjob', taskId: 'tbig', attempt: 3 } }]);
});

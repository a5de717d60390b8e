/**
 * The replication worker (shared/replication/worker.ts) over in-memory ends: the first delivery
 * of a first attempt copies without looking at the destination, any later one looks first and
 * does not copy a finished object again; and the job read is held only while the job runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../shared/log.ts';
import type { ReplicationJob } from '../../../shared/replication/job.ts';
import type { ObjectEntry, ObjectSide } from '../../../shared/replication/ports.ts';
import type { Delivery, TaskStatus } from '../../../shared/replication/status.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { UploadGoneError } from '../../../shared/replication/upload-gone.ts';
import {
  heldJobReads,
  RUNNING_JOB_HOLD_MS,
  runTask,
  STOP_WATCH_MS,
} from '../../../shared/replication/worker.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { replicationJob, replicationTask } from '../../helpers/replication.ts';

/** An end holding objects in memory, counting its HEADs and whole writes. */
function memorySide(objects = new Map<string, { bytes: Buffer; modifiedAt: number }>()) {
  const counts = { heads: 0, puts: 0 };
  const uploads = new Map<string, Map<number, Buffer>>();
  const entry = (key: string): ObjectEntry | undefined => {
    const o = objects.get(key);
    return o ? { key, size: o.bytes.length, modifiedAt: o.modifiedAt } : undefined;
  };
  const side = {
    async head(key: string) {
      counts.heads++;
      return entry(key);
    },
    async *read(key: string, start: number, end: number) {
      yield (objects.get(key)?.bytes ?? Buffer.alloc(0)).subarray(start, end);
    },
    async put(key: string, _size: number, body: AsyncIterable<Uint8Array>) {
      counts.puts++;
      const chunks: Uint8Array[] = [];
      for await (const c of body) chunks.push(c);
      objects.set(key, { bytes: Buffer.concat(chunks), modifiedAt: Date.now() });
    },
    // Multi-part writes: an upload this end does not hold is gone (aborted, expired).
    async startParts() {
      const id = `u${uploads.size + 1}`;
      uploads.set(id, new Map());
      return id;
    },
    async putPart(key: string, uploadId: string, part: number, body: Uint8Array) {
      const parts = uploads.get(uploadId);
      if (!parts) throw new UploadGoneError(key, 'no such upload');
      parts.set(part, Buffer.from(body));
      return `e${part}`;
    },
    async finishParts(key: string, uploadId: string, etags: string[]) {
      const parts = uploads.get(uploadId);
      if (!parts) throw new UploadGoneError(key, 'no such upload');
      const bytes = Buffer.concat(etags.map((_, i) => parts.get(i + 1) as Buffer));
      objects.set(key, { bytes, modifiedAt: Date.now() });
    },
  } as unknown as ObjectSide;
  return { side, counts, objects, uploads };
}

function world(task: ReplicationTask, job: ReplicationJob = replicationJob()) {
  const source = memorySide(new Map([['k', { bytes: Buffer.from('hello'), modifiedAt: 0 }]]));
  const destination = memorySide();
  const statuses: TaskStatus['type'][] = [];
  /** The log's task: what a claim is checked against (set `attempts` to model a move). */
  const logged = { ...task };
  /** The worker's reads of the task, beside its claim. */
  const reads = { tasks: 0 };
  /** What the fault-injection hook saw: the task's state in the log when it ran. */
  const slowed: string[] = [];
  /** The uploads forgotten on the task. */
  const restarts: string[] = [];
  const run = (attempt: number, delivery?: Delivery) =>
    runTask(
      {
        worker: 0,
        log: {
          getJob: async () => job,
          getTask: async () => {
            reads.tasks++;
            return { ...logged };
          },
          // The DynamoDB adapter's condition: the same attempt, queued or running; the task
          // as claimed, as its ReturnValues give it.
          claimTask: async (_job, _task, claim) => {
            if (logged.attempts !== claim.attempt) return undefined;
            if (logged.state !== 'queued' && logged.state !== 'running') return undefined;
            logged.state = 'running';
            return { ...logged };
          },
          // The adapter's condition: the same attempt, on that upload.
          restartUpload: async (_job, _task, attempt, uploadId) => {
            if (logged.attempts !== attempt || logged.uploadId !== uploadId) return false;
            restarts.push(uploadId);
            Object.assign(logged, { uploadId: undefined, etags: {}, partsDone: 0, bytesCopied: 0 });
            return true;
          },
        },
        sides: (s) => (s === job.source ? source.side : destination.side),
        statuses: { send: async (s) => void statuses.push(s.type) },
        clock: new ManualClock(),
        logger: silentLogger,
        crash: async () => {},
        slowTask: async () => void slowed.push(logged.state),
        remainingMs: () => 60_000,
        deadlineMarginMs: 1000,
      },
      { jobId: job.id, taskId: task.id, attempt },
      delivery,
    );
  return { run, source, destination, statuses, logged, reads, slowed, restarts };
}

test('the first delivery of a first attempt copies without a HEAD of the destination', async () => {
  const w = world(replicationTask());
  assert.equal(await w.run(1, { received: 1 }), 'done');
  assert.equal(w.destination.counts.heads, 0);
  assert.equal(w.destination.counts.puts, 1);
  assert.equal(w.destination.objects.get('k')?.bytes.toString(), 'hello');
  assert.deepEqual(w.statuses, ['done']);
  assert.equal(w.logged.state, 'running');
  // The claim brought the task back: no read of it beside.
  assert.equal(w.reads.tasks, 0);
});

test('a redelivery, a later attempt or an unknown delivery looks first, and copies a finished object no more', async () => {
  for (const [attempt, delivery] of [
    [1, { received: 2 }],
    [2, { received: 1 }],
    [1, undefined],
  ] as const) {
    const w = world(replicationTask({ attempts: attempt }));
    // Copied by the earlier run, whose `done` was lost.
    w.destination.objects.set('k', { bytes: Buffer.from('hello'), modifiedAt: 1000 });
    assert.equal(await w.run(attempt, delivery), 'skipped', `${attempt} ${delivery?.received}`);
    assert.equal(w.destination.counts.heads, 1);
    assert.equal(w.destination.counts.puts, 0);
    assert.deepEqual(w.statuses, ['done']);
  }
});

test('a task moved (its attempts raised) before the worker claims it is left alone: nothing written, nothing reported', async () => {
  const w = world(replicationTask());
  w.logged.attempts = 2;
  assert.equal(await w.run(1, { received: 1 }), 'stale');
  assert.equal(w.destination.counts.puts, 0);
  assert.deepEqual(w.statuses, []);
});

test('a copy asked to move before it started here reports where it stands, and copies nothing', async () => {
  const w = world(replicationTask({ state: 'stopping', migrateTo: 2 }));
  assert.equal(await w.run(1, { received: 1 }), 'stopped');
  assert.equal(w.destination.counts.puts, 0);
  assert.deepEqual(w.statuses, ['stopped']);
  // The lost claim is what read the task.
  assert.equal(w.reads.tasks, 1);
  assert.equal(w.logged.state, 'stopping');
});

test('a message for a task already done, or failed, is stale: nothing written, nothing reported', async () => {
  for (const state of ['done', 'failed'] as const) {
    const w = world(replicationTask({ state }));
    assert.equal(await w.run(1, { received: 1 }), 'stale', state);
    assert.equal(w.destination.counts.puts, 0);
    assert.deepEqual(w.statuses, []);
  }
});

test("a running job's read is held for a while; one not running is read again each time", async () => {
  const clock = new ManualClock();
  let state: ReplicationJob['state'] = 'running';
  let reads = 0;
  const getJob = heldJobReads(
    {
      getJob: async () => {
        reads++;
        return replicationJob({ state });
      },
    },
    clock,
  );
  await getJob('rjob');
  await getJob('rjob');
  assert.equal(reads, 1);
  clock.advance(RUNNING_JOB_HOLD_MS);
  state = 'cancelled';
  assert.equal((await getJob('rjob'))?.state, 'cancelled');
  assert.equal((await getJob('rjob'))?.state, 'cancelled');
  assert.equal(reads, 3);
  state = 'running';
  assert.equal((await getJob('rjob'))?.state, 'running');
  assert.equal(reads, 4);
});

/**
 * A multi-part copy over ends that log each step: reads and writes of parts take turns on a
 * script of gates, so a test sees what overlaps.
 */
function partsWorld(
  parts: number,
  opts: { stopAfterPart?: number; holdPart?: number; holdRead?: number } = {},
) {
  const partSize = 4;
  const body = Buffer.from('abcdefghijklmnopqrstuvwxyz').subarray(0, parts * partSize);
  const events: string[] = [];
  const written = new Map<number, string>();
  /** Lets the held read go on. */
  let letRead: (() => void) | undefined;
  /** Lets the held part land. */
  let land: (() => void) | undefined;
  /** Lands the held part while the worker's next look is made (a look slower than the part). */
  const flags = { landOnLook: false };
  const job = replicationJob({ partSize });
  const task = replicationTask({ size: body.length, state: 'queued' });
  const logged = { ...task };
  const source = {
    async *read(_key: string, start: number, end: number) {
      const part = start / partSize + 1;
      events.push(`read ${part} start`);
      try {
        await new Promise((r) => setImmediate(r));
        if (part === opts.holdRead) {
          // A read slow to come: its first byte, then the rest once let go.
          yield body.subarray(start, start + 1);
          await new Promise<void>((r) => {
            letRead = r;
          });
          yield body.subarray(start + 1, end);
        } else yield body.subarray(start, end);
        events.push(`read ${part} end`);
      } finally {
        events.push(`read ${part} closed`);
      }
    },
  } as unknown as ObjectSide;
  const destination = {
    startParts: async () => 'u1',
    async putPart(
      _key: string,
      _upload: string,
      part: number,
      bytes: Buffer,
      signal?: AbortSignal,
    ) {
      events.push(`write ${part} start`);
      if (part === opts.holdPart) {
        // A part slow to land: it waits until its write is abandoned, or let land.
        await new Promise<void>((resolve, reject) => {
          land = resolve;
          signal?.addEventListener('abort', () => {
            events.push(`write ${part} aborted`);
            reject(signal.reason);
          });
        });
      }
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      written.set(part, bytes.toString());
      events.push(`write ${part} end`);
      return `e${part}`;
    },
    finishParts: async () => void events.push('finish'),
  } as unknown as ObjectSide;
  const statuses: string[] = [];
  /** The statuses' fields that say where a copy stands. */
  const sent: Array<Partial<TaskStatus>> = [];
  const clock = new ManualClock();
  let looks = 0;
  const run = () =>
    runTask(
      {
        worker: 0,
        log: {
          getJob: async () => job,
          getTask: async () => {
            looks++;
            if (flags.landOnLook) {
              land?.();
              for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
            }
            if (opts.stopAfterPart !== undefined && written.size >= opts.stopAfterPart)
              logged.state = 'stopping';
            return { ...logged };
          },
          restartUpload: async () => true,
          claimTask: async () => {
            logged.state = 'running';
            return { ...logged };
          },
        },
        sides: (s) => (s === job.source ? source : destination),
        statuses: {
          send: async (s) => {
            statuses.push(s.part === undefined ? s.type : `${s.type} ${s.part}`);
            sent.push({
              type: s.type,
              ...(s.part === undefined ? {} : { part: s.part }),
              ...(s.etag === undefined ? {} : { etag: s.etag }),
              ...(s.uploadId === undefined ? {} : { uploadId: s.uploadId }),
            });
          },
        },
        clock,
        logger: silentLogger,
        crash: async () => {},
        remainingMs: () => 60_000,
        deadlineMarginMs: 1000,
      },
      { jobId: job.id, taskId: task.id, attempt: 1 },
      { received: 1 },
    );
  return {
    run,
    events,
    written,
    statuses,
    body,
    partSize,
    clock,
    logged,
    flags,
    letRead: () => letRead?.(),
    /** Resolves once `event` has happened. */
    until: async (event: string) => {
      while (!events.includes(event)) await new Promise((r) => setImmediate(r));
    },
    sent,
    looks: () => looks,
  };
}

test('a multi-part copy reads the next part while it writes this one, and reports in order', async () => {
  const w = partsWorld(4);

  const outcome = await w.run();

  assert.equal(outcome, 'done');
  for (let p = 1; p <= 4; p++)
    assert.equal(w.written.get(p), w.body.subarray((p - 1) * 4, p * 4).toString(), `part ${p}`);
  for (let p = 1; p < 4; p++)
    assert.ok(
      w.events.indexOf(`read ${p + 1} start`) < w.events.indexOf(`write ${p} end`),
      `part ${p + 1} is read while part ${p} is written: ${w.events.join(', ')}`,
    );
  assert.deepEqual(w.statuses, ['part 1', 'part 2', 'part 3', 'part 4', 'done']);
  assert.ok(w.events.indexOf('finish') > w.events.indexOf('write 4 end'));
});

test('a stop at a part boundary drops the part read ahead: stopped after the parts written, nothing more', async () => {
  const w = partsWorld(4, { stopAfterPart: 2 });

  const outcome = await w.run();

  assert.equal(outcome, 'stopped');
  assert.deepEqual([...w.written.keys()], [1, 2]);
  assert.deepEqual(w.statuses, ['part 1', 'part 2', 'stopped 2']);
  assert.ok(!w.events.includes('finish'));
});

test('a stop asked while a part is on its way abandons that part: stopped after the parts before it, within one look', async () => {
  const w = partsWorld(4, { holdPart: 3 });
  const outcome = w.run();
  const tick = () => new Promise((r) => setImmediate(r));
  await w.until('write 3 start');
  // Each look comes one watch period after the last; the first finds nothing asked.
  w.clock.advance(STOP_WATCH_MS);
  while (w.clock.sleeping === 0) await tick();
  assert.ok(!w.events.includes('write 3 aborted'), 'not asked yet: the part goes on');
  w.logged.state = 'stopping';
  w.clock.advance(STOP_WATCH_MS);

  assert.equal(await outcome, 'stopped');
  assert.ok(w.events.includes('write 3 aborted'), w.events.join(', '));
  assert.deepEqual([...w.written.keys()], [1, 2]);
  assert.deepEqual(w.statuses, ['part 1', 'part 2', 'stopped 2']);
  assert.ok(!w.events.includes('finish'));
});

test('a stop seen by a look while the part landed keeps the part and stops after it, with no look more', async () => {
  const w = partsWorld(4, { holdPart: 3 });
  const outcome = w.run();
  await w.until('write 3 start');
  w.logged.state = 'stopping';
  w.flags.landOnLook = true;
  w.clock.advance(STOP_WATCH_MS);

  assert.equal(await outcome, 'stopped');
  assert.deepEqual([...w.written.keys()], [1, 2, 3]);
  // The stop carries part 3's checkpoint; no status of its own, no look at a boundary.
  assert.deepEqual(w.statuses, ['part 1', 'part 2', 'stopped 3']);
  assert.equal(
    w.looks(),
    3,
    'the boundaries before parts 2 and 3, and one look while part 3 was written',
  );
});

test('a part that lands quickly is not looked after: the log is read once per boundary', async () => {
  const w = partsWorld(4);

  assert.equal(await w.run(), 'done');
  // The boundaries before parts 2, 3 and 4; no look while a part was written.
  assert.equal(w.looks(), 3);
});

test('a stop closes the read ahead of the next part: it reads no further', async () => {
  const w = partsWorld(4, { holdPart: 3, holdRead: 4 });
  const outcome = w.run();
  await w.until('write 3 start');
  w.logged.state = 'stopping';
  w.clock.advance(STOP_WATCH_MS);
  assert.equal(await outcome, 'stopped');

  // The read of part 4 was on its way; let its source go on: it is closed at its next chunk.
  w.letRead();
  await w.until('read 4 closed');
  assert.ok(!w.events.includes('read 4 end'), w.events.join(', '));
});

test('a copy asked to move within its first part reports its upload, with no part done', async () => {
  const w = partsWorld(4, { holdPart: 1 });
  const outcome = w.run();
  await w.until('write 1 start');
  w.logged.state = 'stopping';
  w.clock.advance(STOP_WATCH_MS);

  assert.equal(await outcome, 'stopped');
  assert.deepEqual([...w.written.keys()], []);
  // The upload it opened goes with the stop, so the next worker resumes it (no open upload left).
  assert.deepEqual(w.sent.at(-1), { type: 'stopped', part: 0, uploadId: 'u1' });
});

test('a slowed worker (DSN_REPLICATION_SLOW_TASK_MS) waits once it has claimed a task, before its copy; a stale delivery it drops does not wait', async () => {
  const w = world(replicationTask());
  assert.equal(await w.run(1, { received: 1 }), 'done');
  // Claimed first: a rebalancing move can no longer take it while the worker waits.
  assert.deepEqual(w.slowed, ['running']);

  const moved = world(replicationTask());
  moved.logged.attempts = 2;
  assert.equal(await moved.run(1, { received: 1 }), 'stale');
  assert.deepEqual(moved.slowed, []);
});

test('a copy in parts whose upload is gone at the destination (aborted, expired, failed) begins again with a new one, and finishes', async () => {
  // Prepare: 'hello' in parts of 2 bytes; an attempt before checkpointed part 1 of upload
  // `old`, which the destination no longer has.
  const w = world(
    replicationTask({
      attempts: 2,
      state: 'queued',
      uploadId: 'old',
      partsDone: 1,
      etags: { '1': 'e1' },
    }),
    replicationJob({ partSize: 2 }),
  );

  // Act
  const outcome = await w.run(2, { received: 1 });

  // Assess
  assert.equal(outcome, 'done');
  assert.deepEqual(w.restarts, ['old']);
  assert.equal(w.destination.objects.get('k')?.bytes.toString(), 'hello');
  assert.deepEqual(w.statuses.at(-1), 'done');
});

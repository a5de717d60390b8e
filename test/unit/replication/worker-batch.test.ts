/**
 * A worker's batch (shared/replication/worker-batch.ts) over in-memory ends and queues: the
 * tasks' last statuses go out together, a status that cannot wait takes them with it, a send
 * that fails fails the records whose statuses it carried, and near the time limit the records
 * not begun are handed back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../shared/log.ts';
import type { ObjectEntry, ObjectSide } from '../../../shared/replication/ports.ts';
import type { TaskStatus } from '../../../shared/replication/status.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import {
  HandedBackError,
  runTaskBatch,
  STATUS_BATCH,
  STATUS_HOLD_MS,
  type TaskRecord,
} from '../../../shared/replication/worker-batch.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { replicationJob, replicationTask } from '../../helpers/replication.ts';

const job = replicationJob({ partSize: 10 });

/** Objects `k0..k{n-1}` of `size` bytes at the source, a task each, and a record each. */
function world(n: number, opts: { size?: number; remainingMs?: () => number } = {}) {
  const size = opts.size ?? 5;
  const source = new Map<string, Buffer>();
  const destination = new Map<string, Buffer>();
  const tasks = new Map<string, ReplicationTask>();
  const records: TaskRecord[] = [];
  for (let i = 0; i < n; i++) {
    source.set(`k${i}`, Buffer.alloc(size, i));
    tasks.set(`t${i}`, replicationTask({ id: `t${i}`, key: `k${i}`, size }));
    records.push({
      id: `m${i}`,
      body: JSON.stringify({ jobId: job.id, taskId: `t${i}`, attempt: 1 }),
      receipt: `r${i}`,
      received: 1,
    });
  }
  const side = (objects: Map<string, Buffer>) =>
    ({
      async head(key: string): Promise<ObjectEntry | undefined> {
        const o = objects.get(key);
        return o ? { key, size: o.length, modifiedAt: 0 } : undefined;
      },
      async *read(key: string, start: number, end: number) {
        yield (objects.get(key) as Buffer).subarray(start, end);
      },
      async put(key: string, _size: number, body: AsyncIterable<Uint8Array>) {
        const chunks: Uint8Array[] = [];
        for await (const c of body) chunks.push(c);
        objects.set(key, Buffer.concat(chunks));
      },
      async startParts() {
        return 'upload';
      },
      async putPart(_key: string, _upload: string, part: number) {
        return `etag${part}`;
      },
      async finishParts(key: string) {
        objects.set(key, source.get(key) as Buffer);
      },
    }) as unknown as ObjectSide;
  const clock = new ManualClock();
  /** Each request to the status queue, as the statuses it carried (`taskId type`). */
  const sends: string[][] = [];
  const refuse = { next: 0 };
  const handedBack: string[][] = [];
  const requeued: string[][] = [];
  const deps = {
    worker: 0,
    log: {
      getJob: async () => job,
      getTask: async (_j: string, id: string) => tasks.get(id),
      restartUpload: async () => true,
      claimTask: async (_j: string, id: string, claim: { attempt: number }) => {
        const t = tasks.get(id);
        if (!t || t.attempts !== claim.attempt) return undefined;
        t.state = 'running';
        return { ...t };
      },
    },
    sides: (s: unknown) => (s === job.source ? side(source) : side(destination)),
    statuses: {
      send: async (s: TaskStatus) => deps.statuses.sendAll([s]),
      sendAll: async (all: TaskStatus[]) => {
        if (refuse.next > 0) {
          refuse.next--;
          throw new Error('the status queue refused');
        }
        sends.push(all.map((s) => `${s.taskId} ${s.type}`));
      },
    },
    inbox: {
      requeue: async (bodies: string[]) => void requeued.push(bodies),
      handBack: async (receipts: string[]) => void handedBack.push(receipts),
    },
    clock,
    logger: silentLogger,
    crash: async () => {},
    remainingMs: opts.remainingMs ?? (() => 60_000),
    deadlineMarginMs: 1000,
  };
  return { deps, records, source, destination, sends, refuse, requeued, handedBack, clock };
}

test("a batch's tasks report done together, in one send at its end", async () => {
  const w = world(4);
  const failed = await runTaskBatch(w.deps, w.records);
  assert.equal(failed.size, 0);
  assert.deepEqual(w.sends, [['t0 done', 't1 done', 't2 done', 't3 done']]);
  assert.equal(w.destination.size, 4);
});

test('held statuses go out once STATUS_BATCH are held, and again at the end', async () => {
  const w = world(STATUS_BATCH + 2);
  await runTaskBatch(w.deps, w.records);
  assert.deepEqual(
    w.sends.map((s) => s.length),
    [STATUS_BATCH, 2],
  );
});

test('a held status goes out once it has waited STATUS_HOLD_MS, at the next task end', async () => {
  const w = world(3);
  // Each task's claim moves the clock on by the hold: t0's done has waited it once t1 ends.
  const claim = w.deps.log.claimTask;
  w.deps.log.claimTask = async (j, id, c) => {
    w.clock.advance(STATUS_HOLD_MS);
    return claim(j, id, c);
  };
  await runTaskBatch(w.deps, w.records);
  assert.deepEqual(w.sends, [['t0 done', 't1 done'], ['t2 done']]);
});

test("a part's checkpoint takes the held statuses with it", async () => {
  // Two small copies, then one of two parts (parts of 10 bytes).
  const w = world(3);
  const big = replicationTask({ id: 't2', key: 'k2', size: 20 });
  w.source.set('k2', Buffer.alloc(20, 2));
  w.deps.log.getTask = async (_j, id) => (id === 't2' ? big : undefined);
  const claim = w.deps.log.claimTask;
  w.deps.log.claimTask = async (j, id, c) => (id === 't2' ? { ...big } : claim(j, id, c));
  await runTaskBatch(w.deps, w.records);
  assert.deepEqual(w.sends, [['t0 done', 't1 done', 't2 part'], ['t2 part'], ['t2 done']]);
});

test('statuses the queue refused fail their records, and only those', async () => {
  const w = world(3);
  w.refuse.next = 1;
  const failed = await runTaskBatch(w.deps, w.records);
  // The one send carried all three: each record returns to the queue, to be reported again.
  assert.deepEqual([...failed.keys()].sort(), ['m0', 'm1', 'm2']);
  assert.deepEqual(w.sends, []);
});

test('a record that does not parse fails alone', async () => {
  const w = world(2);
  const records = [
    w.records[0] as TaskRecord,
    { ...(w.records[1] as TaskRecord), body: '{"jobId":1}' },
  ];
  const failed = await runTaskBatch(w.deps, records);
  assert.deepEqual([...failed.keys()], ['m1']);
  assert.equal((failed.get('m1') as Error).name, 'InvalidParameterError');
  assert.deepEqual(w.sends, [['t0 done']]);
});

test('near the time limit the records not begun are sent again as new messages (no receive counted toward the dead-letter queue), the first is always run', async () => {
  let left = 500; // under the 1000 ms margin from the start
  const w = world(3, { remainingMs: () => left });
  const failed = await runTaskBatch(w.deps, w.records);
  // Each with its receives so far: the new message is no first delivery.
  const withReceives = (r: TaskRecord | undefined) =>
    JSON.stringify({ ...JSON.parse(r?.body ?? '{}'), received: r?.received });
  assert.deepEqual(w.requeued, [[withReceives(w.records[1]), withReceives(w.records[2])]]);
  assert.deepEqual(w.handedBack, []);
  assert.deepEqual([...failed.keys()], [], 'the originals are deleted');
  assert.deepEqual(w.sends, [['t0 done']]);
  assert.equal(w.destination.size, 1);

  // With time enough, all of them run.
  left = 60_000;
  const again = world(3, { remainingMs: () => left });
  assert.equal((await runTaskBatch(again.deps, again.records)).size, 0);
  assert.deepEqual([again.requeued, again.handedBack], [[], []]);
});

test('records that cannot be sent again are handed back, and fail so that they return', async () => {
  const w = world(3, { remainingMs: () => 0 });
  w.deps.inbox.requeue = async () => {
    throw new Error('SendMessageBatch refused');
  };
  const failed = await runTaskBatch(w.deps, w.records);
  assert.deepEqual(w.handedBack, [['r1', 'r2']]);
  assert.deepEqual([...failed.keys()], ['m1', 'm2']);
  assert.ok(failed.get('m1') instanceof HandedBackError);
});

test('records neither sent again nor handed back still fail, and return after the visibility timeout', async () => {
  const w = world(2, { remainingMs: () => 0 });
  w.deps.inbox.requeue = async () => {
    throw new Error('SQS unreachable');
  };
  w.deps.inbox.handBack = async () => {
    throw new Error('SQS unreachable');
  };
  const failed = await runTaskBatch(w.deps, w.records);
  assert.deepEqual([...failed.keys()], ['m1']);
  assert.deepEqual(w.sends, [['t0 done']]);
});

test('a record sent again at a deadline and received once more is run as a redelivery: the destination is looked at first, not copied over blindly', async () => {
  // Prepare: the object is at the destination already (a run before the deadline had copied it
  // and died before its status); the message comes back as a new one with its earlier receive.
  const w = world(1);
  w.destination.set('k0', Buffer.alloc(5, 0));
  let heads = 0;
  const side = w.deps.sides;
  w.deps.sides = (s) => {
    const inner = side(s);
    return {
      ...inner,
      head: async (key: string) => {
        heads++;
        return inner.head(key);
      },
    } as ObjectSide;
  };
  const again: TaskRecord = {
    id: 'm0b',
    body: JSON.stringify({ ...JSON.parse(w.records[0]?.body ?? '{}'), received: 1 }),
    receipt: 'r0b',
    received: 1,
  };

  // Act
  const failed = await runTaskBatch(w.deps, [again]);

  // Assess: found there, nothing written again.
  assert.equal(failed.size, 0);
  assert.ok(heads > 0, 'the destination was looked at');
  assert.deepEqual(w.sends, [['t0 done']]);
});

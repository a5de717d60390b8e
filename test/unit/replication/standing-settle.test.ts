/**
 * A standing job's task ends with the destination's key as the source's key is
 * (shared/replication/standing-settle.ts): a copy of an older revision that lands after the
 * newer one's is undone, a delete that lands after a later write is undone, and the worker
 * does this before it says done.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../shared/log.ts';
import type { ReplicationJob } from '../../../shared/replication/job.ts';
import type { CopiedVersion, ObjectEntry, ObjectSide } from '../../../shared/replication/ports.ts';
import { SourceChangedError } from '../../../shared/replication/source-version.ts';
import {
  SETTLE_ROUNDS,
  SettleTimeError,
  settleStanding,
} from '../../../shared/replication/standing-settle.ts';
import type { TaskStatus } from '../../../shared/replication/status.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { runTask } from '../../../shared/replication/worker.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { replicationJob, replicationTask } from '../../helpers/replication.ts';

interface Held {
  bytes: Buffer;
  revision?: string;
  sourceRevision?: string;
  modifiedAt: number;
}

/**
 * An end in memory: a vault source (objects carry their revision) or a bucket destination
 * (objects carry the source revision a copy wrote with them). `onRead` runs as a read ends.
 */
function memoryEnd(objects = new Map<string, Held>()) {
  const counts = { puts: 0, parts: 0, removes: 0, aborts: 0 };
  let onRead: (() => Promise<void>) | undefined;
  const uploads = new Map<string, { parts: Map<number, Buffer>; copied?: CopiedVersion }>();
  const entry = (key: string): ObjectEntry | undefined => {
    const o = objects.get(key);
    if (!o) return undefined;
    return {
      key,
      size: o.bytes.length,
      modifiedAt: o.modifiedAt,
      ...(o.revision ? { revision: o.revision } : {}),
      ...(o.sourceRevision ? { sourceRevision: o.sourceRevision } : {}),
    };
  };
  const side: ObjectSide = {
    async *list() {},
    async head(key) {
      return entry(key);
    },
    async *read(key, start, end, expect) {
      const o = objects.get(key);
      if (!o || (expect?.revision && expect.revision !== o.revision))
        throw new SourceChangedError(key, expect ?? { size: 0, modifiedAt: 0 }, 'another');
      const bytes = o.bytes.subarray(start, end);
      await onRead?.();
      yield bytes;
    },
    async put(key, _size, body, copied) {
      counts.puts++;
      const chunks: Uint8Array[] = [];
      for await (const c of body) chunks.push(c);
      objects.set(key, {
        bytes: Buffer.concat(chunks),
        modifiedAt: Date.now(),
        ...(copied?.revision ? { sourceRevision: copied.revision } : {}),
      });
    },
    async startParts(_key, copied) {
      const id = `u${uploads.size + 1}`;
      uploads.set(id, { parts: new Map(), ...(copied ? { copied } : {}) });
      return id;
    },
    async putPart(_key, uploadId, part, body) {
      counts.parts++;
      uploads.get(uploadId)?.parts.set(part, Buffer.from(body));
      return `e${part}`;
    },
    async finishParts(key, uploadId, etags) {
      const u = uploads.get(uploadId);
      if (!u) throw new Error('no upload');
      objects.set(key, {
        bytes: Buffer.concat(etags.map((_, i) => u.parts.get(i + 1) as Buffer)),
        modifiedAt: Date.now(),
        ...(u.copied?.revision ? { sourceRevision: u.copied.revision } : {}),
      });
    },
    async abortParts(_key, uploadId) {
      counts.aborts++;
      uploads.delete(uploadId);
    },
    async remove(key) {
      counts.removes++;
      objects.delete(key);
    },
  };
  return {
    side,
    objects,
    counts,
    whenRead: (f: (() => Promise<void>) | undefined) => {
      onRead = f;
    },
  };
}

const ends = (source: ReturnType<typeof memoryEnd>, destination: ReturnType<typeof memoryEnd>) => ({
  source: source.side,
  destination: destination.side,
  sourceKey: 'k',
  destinationKey: 'k',
  partSize: 4,
  hasTime: () => true,
});

/** One delivery of `task`'s first attempt, the log holding it queued: its outcome and statuses. */
async function runStanding(
  job: ReplicationJob,
  task: ReplicationTask,
  source: ReturnType<typeof memoryEnd>,
  destination: ReturnType<typeof memoryEnd>,
) {
  const statuses: TaskStatus['type'][] = [];
  const logged = { ...task };
  const outcome = await runTask(
    {
      worker: 0,
      log: {
        getJob: async () => job,
        getTask: async () => ({ ...logged }),
        claimTask: async () => {
          logged.state = 'running';
          return { ...logged };
        },
        restartUpload: async () => false,
      },
      sides: (s) => (s === job.source ? source.side : destination.side),
      statuses: { send: async (s) => void statuses.push(s.type) },
      clock: new ManualClock(),
      logger: silentLogger,
      crash: async () => {},
      remainingMs: () => 60_000,
      deadlineMarginMs: 1000,
    },
    { jobId: job.id, taskId: task.id, attempt: 1 },
    { received: 1 },
  );
  return { outcome, statuses };
}

test('a destination holding an older revision gets the current one; one holding it is left', async () => {
  const source = memoryEnd(
    new Map([['k', { bytes: Buffer.from('new'), revision: 'r2', modifiedAt: 2 }]]),
  );
  const destination = memoryEnd(
    new Map([['k', { bytes: Buffer.from('old'), sourceRevision: 'r1', modifiedAt: 9 }]]),
  );
  assert.equal(await settleStanding(ends(source, destination)), 1);
  assert.deepEqual(destination.objects.get('k')?.bytes, Buffer.from('new'));
  assert.equal(destination.objects.get('k')?.sourceRevision, 'r2');
  assert.equal(await settleStanding(ends(source, destination)), 0, 'held: no write');
  assert.equal(destination.counts.puts, 1);
});

test('a key the source no longer has is removed; a large version goes in parts', async () => {
  const source = memoryEnd();
  const destination = memoryEnd(new Map([['k', { bytes: Buffer.from('stale'), modifiedAt: 1 }]]));
  assert.equal(await settleStanding(ends(source, destination)), 1);
  assert.equal(destination.objects.has('k'), false);

  source.objects.set('k', { bytes: Buffer.from('0123456789'), revision: 'r3', modifiedAt: 3 });
  assert.equal(await settleStanding(ends(source, destination)), 1);
  assert.deepEqual(destination.objects.get('k')?.bytes, Buffer.from('0123456789'));
  assert.equal(destination.objects.get('k')?.sourceRevision, 'r3');
  assert.equal(destination.counts.parts, 3, 'parts of 4 bytes');
});

test('a copy in parts left by a rewrite, or by the deadline, is aborted, not left open', async () => {
  const source = memoryEnd(
    new Map([['k', { bytes: Buffer.from('0123456789'), revision: 'r1', modifiedAt: 1 }]]),
  );
  const destination = memoryEnd();
  // Rewritten as its first part is read: that copy is abandoned, the next look copies r2.
  source.whenRead(async () => {
    source.whenRead(undefined);
    source.objects.set('k', { bytes: Buffer.from('abcdefghij'), revision: 'r2', modifiedAt: 2 });
  });
  assert.equal(await settleStanding(ends(source, destination)), 2);
  assert.deepEqual(destination.objects.get('k')?.bytes, Buffer.from('abcdefghij'));
  assert.equal(destination.counts.aborts, 1);

  // Deleted while it was read: the next look removes the key, and the task goes on.
  const gone = memoryEnd(
    new Map([['k', { bytes: Buffer.from('0123456789'), revision: 'r3', modifiedAt: 3 }]]),
  );
  gone.whenRead(async () => {
    gone.whenRead(undefined);
    gone.objects.delete('k');
  });
  assert.equal(await settleStanding(ends(gone, destination)), 2);
  assert.equal(destination.objects.has('k'), false);

  // Out of time between parts: the upload is aborted and the task is retried later.
  let parts = 0;
  const late = memoryEnd(
    new Map([['k', { bytes: Buffer.from('0123456789'), revision: 'r4', modifiedAt: 4 }]]),
  );
  await assert.rejects(
    settleStanding({ ...ends(late, destination), hasTime: () => parts++ < 2 }),
    SettleTimeError,
  );
  assert.equal(destination.counts.aborts, 3);
  assert.equal(destination.objects.has('k'), false);
});

test('a source rewritten faster than it copies fails after SETTLE_ROUNDS looks', async () => {
  const source = memoryEnd(
    new Map([['k', { bytes: Buffer.from('v0'), revision: 'r0', modifiedAt: 0 }]]),
  );
  const destination = memoryEnd();
  let n = 0;
  source.whenRead(async () => {
    n++;
    source.objects.set('k', { bytes: Buffer.from(`v${n}`), revision: `r${n}`, modifiedAt: n });
  });
  await assert.rejects(settleStanding(ends(source, destination)), /kept changing/);
  assert.equal(n, SETTLE_ROUNDS);
});

test('a standing copy of r1 that lands after r2’s copy is followed by r2 before the task says done', async () => {
  // Prepare: the source holds r1; as r1's copy finishes reading, r2 is committed and its own
  // task's copy lands first (the race two workers' batches, or a retry, make).
  const job = replicationJob({ continuous: true, planned: false, partSize: 64 });
  const source = memoryEnd(
    new Map([['k', { bytes: Buffer.from('one'), revision: 'r1', modifiedAt: 1 }]]),
  );
  const destination = memoryEnd();
  source.whenRead(async () => {
    source.whenRead(undefined);
    source.objects.set('k', { bytes: Buffer.from('two!'), revision: 'r2', modifiedAt: 2 });
    destination.objects.set('k', {
      bytes: Buffer.from('two!'),
      sourceRevision: 'r2',
      modifiedAt: Date.now(),
    });
  });
  const task = replicationTask({ size: 3, revision: 'r1', modifiedAt: 1 });
  // Act
  const { outcome, statuses } = await runStanding(job, task, source, destination);

  // Assess: r1 landed over r2, and the task put r2 back before it said done.
  assert.equal(outcome, 'done');
  assert.deepEqual(statuses, ['done']);
  assert.deepEqual(destination.objects.get('k')?.bytes, Buffer.from('two!'));
  assert.equal(destination.objects.get('k')?.sourceRevision, 'r2');
  assert.equal(destination.counts.puts, 2, "r1's copy, then r2's");
});

test('a standing delete that lands after a later write’s copy is undone before it says done', async () => {
  const job = replicationJob({ continuous: true, planned: false, partSize: 64 });
  const source = memoryEnd();
  const destination = memoryEnd(new Map([['k', { bytes: Buffer.from('one'), modifiedAt: 1 }]]));
  // The delete looks at the source (nothing), then the key is written again and copied, and
  // only then does the delete's remove land.
  const remove = destination.side.remove.bind(destination.side);
  destination.side.remove = async (key) => {
    source.objects.set('k', { bytes: Buffer.from('again'), revision: 'r2', modifiedAt: 2 });
    destination.objects.set('k', {
      bytes: Buffer.from('again'),
      sourceRevision: 'r2',
      modifiedAt: 3,
    });
    destination.side.remove = remove;
    await remove(key);
  };
  const task = replicationTask({ kind: 'delete', size: 0 });
  const { outcome, statuses } = await runStanding(job, task, source, destination);
  assert.equal(outcome, 'done');
  assert.deepEqual(statuses, ['done']);
  assert.deepEqual(destination.objects.get('k')?.bytes, Buffer.from('again'));
  assert.equal(destination.objects.get('k')?.sourceRevision, 'r2');
});

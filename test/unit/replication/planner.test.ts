/**
 * The plan: both ends listed side by side, the diff written as tasks; a second plan writes the
 * same tasks (ids from kind and key), and a destination that holds the object already gets none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJob, type ReplicationJob } from '../../../shared/replication/job.ts';
import { PLAN_BATCH, planJob } from '../../../shared/replication/planner.ts';
import type { ObjectEntry, ObjectSide } from '../../../shared/replication/ports.ts';
import { sameObject } from '../../../shared/replication/same-object.ts';
import type { Side } from '../../../shared/replication/side.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';

/** A side that only lists: the plan reads nothing else. */
function listing(entries: ObjectEntry[]): ObjectSide {
  const refuse = () => {
    throw new Error('the plan only lists');
  };
  return {
    async *list(prefix) {
      for (const e of [...entries].sort((a, b) => (a.key < b.key ? -1 : 1)))
        if (e.key.startsWith(prefix)) yield e;
    },
    head: refuse,
    read: refuse,
    put: refuse,
    startParts: refuse,
    putPart: refuse,
    finishParts: refuse,
    abortParts: refuse,
    remove: refuse,
  };
}

function world(src: ObjectEntry[], dst: ObjectEntry[], job?: () => ReplicationJob | undefined) {
  const written = new Map<string, ReplicationTask>();
  /** Each write's size and whether it overwrote. */
  const writes: Array<{ tasks: number; overwrite: boolean }> = [];
  const sides = new Map([
    ['src', listing(src)],
    ['dst', listing(dst)],
  ]);
  return {
    written,
    writes,
    deps: {
      log: {
        async putTasks(tasks: ReplicationTask[], opts?: { overwrite: boolean }) {
          const overwrite = opts?.overwrite ?? false;
          writes.push({ tasks: tasks.length, overwrite });
          for (const t of tasks) if (overwrite || !written.has(t.id)) written.set(t.id, t);
        },
        getJob: async () => job?.(),
      },
      sides: (side: Side) => sides.get('vault' in side ? side.vault : side.bucket) as ObjectSide,
    },
  };
}

const at = Date.parse('2026-12-01T10:00:00.500Z');
const e = (key: string, size: number, modifiedAt = at, sha256?: string): ObjectEntry => ({
  key,
  size,
  modifiedAt,
  ...(sha256 ? { sha256 } : {}),
});

test('the plan copies what the destination lacks or holds otherwise, deletes extraneous keys when asked, and planning twice writes nothing new', async () => {
  // Prepare: source prefix a/ onto destination prefix b/.
  const { deps, written } = world(
    [e('a/same', 5, at, 'x'), e('a/changed', 5, at, 'x'), e('a/new', 3), e('z/outside', 1)],
    [e('b/same', 5, at, 'x'), e('b/changed', 5, at, 'y'), e('b/extra', 9)],
  );
  const job = newJob(
    {
      source: { vault: 'src', prefix: 'a/' },
      destination: { vault: 'dst', prefix: 'b/' },
      deleteExtraneous: true,
      rebalance: true,
    },
    { id: 'r1', partSize: 8, at: new Date(at) },
  );

  // Act
  const found = await planJob(deps, job);
  const again = await planJob(deps, job);

  // Assess
  const tasks = [...written.values()].map((t) => [t.kind, t.key, t.destinationKey]).sort();
  assert.deepEqual(tasks, [
    ['copy', 'a/changed', 'b/changed'],
    ['copy', 'a/new', 'b/new'],
    ['delete', 'b/extra', 'b/extra'],
  ]);
  assert.equal(found, 3);
  assert.equal(again, 3);
  assert.equal(written.size, 3);
});

test('an object is the same when sizes match and the SHA-256 does, or without one, when the destination is no older, to the second', () => {
  assert.ok(sameObject(e('k', 1, at, 'a'), e('k', 1, at - 60_000, 'a')));
  assert.ok(!sameObject(e('k', 1, at, 'a'), e('k', 1, at, 'b')));
  assert.ok(!sameObject(e('k', 1), e('k', 2)));
  assert.ok(!sameObject(e('k', 1), undefined));
  // S3 keeps whole seconds: 10:00:00.000 is not older than 10:00:00.500.
  assert.ok(sameObject(e('k', 1), e('k', 1, Date.parse('2026-12-01T10:00:00Z'))));
  assert.ok(!sameObject(e('k', 1), e('k', 1, Date.parse('2026-12-01T09:59:59Z'))));
});

/** A new job copying vault src's a/ to vault dst's a/. */
const copyOfA = () =>
  newJob(
    {
      source: { vault: 'src', prefix: 'a/' },
      destination: { vault: 'dst', prefix: 'a/' },
      deleteExtraneous: false,
      rebalance: false,
    },
    { id: 'r1', partSize: 8, at: new Date(at) },
  );

/** `n` one-byte objects under a/, in key order. */
const keysOfA = (n: number) =>
  Array.from({ length: n }, (_, i) => e(`a/${String(i).padStart(4, '0')}`, 1));

test("a job's first plan writes its tasks as they are, in batches; a restarted job's only where none is", async () => {
  const src = keysOfA(PLAN_BATCH * 2 + 1);
  const first = copyOfA();
  const w = world(src, [], () => first);
  assert.equal(await planJob(w.deps, first), src.length);
  assert.deepEqual(w.writes, [
    { tasks: PLAN_BATCH, overwrite: true },
    { tasks: PLAN_BATCH, overwrite: true },
    { tasks: 1, overwrite: true },
  ]);

  // Restarted (a new round): its dispatch may have sent some already.
  const restarted = { ...first, round: 2, restarts: 1 };
  const r = world(src, [], () => restarted);
  await planJob(r.deps, restarted);
  assert.ok(r.writes.every((x) => !x.overwrite));
});

test('a first plan cancelled midway writes the rest only where no task is', async () => {
  const src = keysOfA(PLAN_BATCH * 2);
  const job = copyOfA();
  // The job as read between batches: cancelled once the first batch is written.
  const w = world(src, [], () => ({ ...job, state: 'cancelled' }));
  await planJob(w.deps, job);
  assert.deepEqual(w.writes, [
    { tasks: PLAN_BATCH, overwrite: true },
    { tasks: PLAN_BATCH, overwrite: false },
  ]);
});

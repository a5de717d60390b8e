/**
 * A copy reads the source version its task was planned from, and no other, on a real S3 (the
 * local cloud's): a source overwritten since the plan with a longer object would otherwise give
 * the destination the new object's head, reported done. A standing rule's task is then
 * superseded (the later commit has its own task); a one-off job's task fails, saying why.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { bucketSide } from '../../shared/aws/replication/bucket-side.ts';
import { silentLogger } from '../../shared/log.ts';
import { collect, SourceChangedError } from '../../shared/replication/index.ts';
import type { ReplicationJob } from '../../shared/replication/job.ts';
import type { TaskStatus } from '../../shared/replication/status.ts';
import type { ReplicationTask } from '../../shared/replication/task.ts';
import { runTask } from '../../shared/replication/worker.ts';
import { ManualClock } from '../helpers/clock.ts';
import { startLoneS3 } from '../helpers/local-cloud.ts';
import { replicationJob, replicationTask } from '../helpers/replication.ts';

const SOURCE = 'version-src';
const DESTINATION = 'version-dst';
let s3: Awaited<ReturnType<typeof startLoneS3>>['s3'];
let stop: () => Promise<void>;

before(async () => {
  ({ s3, stop } = await startLoneS3('dsn-source-version', SOURCE));
  await s3.send(new CreateBucketCommand({ Bucket: DESTINATION }));
});

after(async () => {
  await stop?.();
});

const put = (Key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: SOURCE, Key, Body: body }));

/** The key's entry as a plan sees it, then the key overwritten with a longer object. */
async function plannedThenOverwritten(key: string) {
  await put(key, 'first version');
  const planned = await bucketSide(s3, SOURCE).head(key);
  assert.ok(planned);
  // Another second, so even an object of the same size would be told apart by its time.
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
  await put(key, 'the second version, longer than the first');
  return planned;
}

test('a read of the version planned gives its bytes; of an overwritten one, SourceChangedError and no bytes', async () => {
  // Prepare
  const side = bucketSide(s3, SOURCE);
  await put('same', 'unchanged bytes');
  const same = await side.head('same');
  assert.ok(same);
  const planned = await plannedThenOverwritten('changed');

  // Act
  const read = await collect(side.read('same', 0, 9, same), 9);

  // Assess
  assert.equal(Buffer.from(read).toString(), 'unchanged');
  await assert.rejects(
    collect(side.read('changed', 0, planned.size, planned), planned.size),
    (err: Error) =>
      err instanceof SourceChangedError &&
      /changed since the copy was planned \(planned 13 bytes modified at .+, found 41 bytes/.test(
        err.message,
      ),
  );
});

/** Runs `task` of `job` once between the two buckets; what it reported, and the destination. */
async function runOnce(job: ReplicationJob, task: ReplicationTask) {
  const statuses: TaskStatus[] = [];
  const logged = { ...task };
  const outcome = await runTask(
    {
      worker: 0,
      log: {
        getJob: async () => job,
        getTask: async () => ({ ...logged }),
        restartUpload: async () => true,
        claimTask: async () => {
          logged.state = 'running';
          return { ...logged };
        },
      },
      sides: (s) => bucketSide(s3, (s as { bucket: string }).bucket),
      statuses: { send: async (s) => void statuses.push(s) },
      clock: new ManualClock(),
      logger: silentLogger,
      crash: async () => {},
      remainingMs: () => 60_000,
      deadlineMarginMs: 1000,
    },
    { jobId: job.id, taskId: task.id, attempt: 1 },
    { received: 1 },
  );
  const copied = await s3
    .send(new GetObjectCommand({ Bucket: DESTINATION, Key: task.destinationKey }))
    .then(async (o) => o.Body?.transformToString())
    .catch(() => undefined);
  return { outcome, statuses, copied };
}

test("a source changed since the plan: a one-off job's task fails saying so and writes nothing; a standing rule's is superseded and leaves the destination at the source's current version", async () => {
  for (const continuous of [false, true]) {
    // Prepare
    const key = `task-${continuous}`;
    const planned = await plannedThenOverwritten(key);
    const job = replicationJob({
      source: { bucket: SOURCE, prefix: '' },
      destination: { bucket: DESTINATION, prefix: '' },
      partSize: 1024,
      ...(continuous ? { continuous: true } : {}),
    } as Partial<ReplicationJob>);
    const task = replicationTask({
      key,
      destinationKey: key,
      size: planned.size,
      modifiedAt: planned.modifiedAt,
    });

    // Act
    const { outcome, statuses, copied } = await runOnce(job, task);

    // Assess: never the version planned. A standing task ends with the destination as the
    // source is now (standing-settle.ts), whichever of the key's tasks lands last.
    assert.equal(
      copied,
      continuous ? 'the second version, longer than the first' : undefined,
      `${continuous}: what the destination holds`,
    );
    if (continuous) {
      assert.equal(outcome, 'skipped');
      assert.deepEqual(
        statuses.map((s) => [s.type, s.bytes]),
        [['done', 0]],
      );
    } else {
      assert.equal(outcome, 'failed');
      assert.equal(statuses[0]?.type, 'failed');
      assert.match(
        statuses[0]?.error ?? '',
        /SourceChangedError: the source s3:\/\/version-src\/task-false changed since the copy was planned/,
      );
    }
  }
});

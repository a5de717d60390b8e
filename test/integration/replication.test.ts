/**
 * Replication jobs on the local cloud (seeds 003, 004), through the HTTP API only: the
 * controller is the state machine serverless.yml declares, run by the local cloud's Step
 * Functions; the workers and the status log are its functions on their queues. An outside S3
 * endpoint is fauxqs's own S3 with plain buckets. Stage `test` copies in 5 MiB parts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ListExecutionsCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { DynamoReplicationLog } from '../../shared/aws/replication/replication-log.ts';
import { silentLogger } from '../../shared/log.ts';
import {
  recordStatusOnce,
  type TaskMessage,
  type TaskStatus,
} from '../../shared/replication/index.ts';
import { runDsn } from '../helpers/dsn-cli.ts';
import {
  type CloudClients,
  cloudClients,
  createVault,
  eventually,
  PROJECT_ROOT,
  putInParts,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';
import { replicationJob, replicationTask } from '../helpers/replication.ts';
import { type JobView, jobEnded, startJob } from '../helpers/replication-api.ts';

/** The status log's consumer over `log`, its worker queues kept in memory (`sent`). */
function statusLogOver(log: DynamoReplicationLog) {
  const sent: Array<{ worker: number; message: TaskMessage }> = [];
  const deps = {
    log,
    logger: silentLogger,
    queues: {
      count: 4,
      send: async (worker: number, messages: TaskMessage[]) => {
        for (const message of messages) sent.push({ worker, message });
      },
    },
  };
  return { deps, sent };
}

const MiB = 1024 * 1024;
const PART = 5 * MiB;

/** 50 objects: 46 small ones of random sizes and 4 above the part size (2 or 3 parts). */
function fixtures(): Map<string, Buffer> {
  const objects = new Map<string, Buffer>();
  for (let i = 0; i < 46; i++) {
    objects.set(`docs/${String(i).padStart(2, '0')}.bin`, randomBytes((i * 4099) % (200 * 1024)));
  }
  const large = [PART + 1, 6 * MiB, 9 * MiB + 3, 2 * PART + 7];
  large.forEach((size, i) => {
    objects.set(`large/${i}.bin`, randomBytes(size));
  });
  return objects;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('replication jobs on the local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  /** The cloud's SDK clients, for what a test does past the API. */
  let clients: CloudClients;
  let s3: S3Client;
  const objects = fixtures();
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);

  const start = (body: unknown) => startJob(api, body);
  const finished = (id: string) => jobEnded(api, id);

  const bucketObject = async (bucket: string, key: string) => {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
  };

  /** Read in ranges: a Lambda response stops at 6 MB. */
  const vaultObject = async (vault: string, key: string, size: number) => {
    const chunks: Buffer[] = [];
    const step = 4 * MiB;
    for (let at = 0; at === 0 || at < size; at += step) {
      const end = Math.min(size, at + step) - 1;
      const res = await api(`/vaults/${vault}/objects/${key}`, {
        headers: size === 0 ? {} : { range: `bytes=${at}-${end}` },
      });
      assert.ok(res.status === 200 || res.status === 206, `${vault}/${key}: ${res.status}`);
      chunks.push(Buffer.from(await res.arrayBuffer()));
      if (size === 0) break;
    }
    return Buffer.concat(chunks);
  };

  before(async () => {
    dir = await tempDir('dsn-replication');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path);
    clients = cloudClients(cloud);
    s3 = clients.s3;
    for (const bucket of ['plain-in', 'plain-out'])
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const [key, body] of objects)
      await s3.send(new PutObjectCommand({ Bucket: 'plain-in', Key: key, Body: body }));
    for (const name of ['imported', 'mirror'])
      await createVault(api, { name, writeThreshold: 5, segmentSize: MiB });
  });

  after(async () => {
    clients?.destroy();
    await cloud?.stop();
    await dir?.remove();
  });

  test('bad requests name the field; an unknown vault is a 404', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ destination: { vault: 'mirror' } }, 400, /source/],
      [{ source: { vault: 'imported' }, destination: { bucket: 'x' } }, 400, /destination\.bucket/],
      [{ source: { vault: 'imported' }, destination: { vault: 'mirror' }, extra: 1 }, 400, /extra/],
      [
        {
          source: { bucket: 'plain-in', endpoint: 'http://example.com' },
          destination: { vault: 'mirror' },
        },
        400,
        /source\.endpoint/,
      ],
      [{ source: { vault: 'nope' }, destination: { vault: 'mirror' } }, 404, /nope/],
    ];
    for (const [body, status, message] of cases) {
      const res = await api('/replications', { method: 'POST', body: JSON.stringify(body) });
      const text = await res.text();
      assert.equal(res.status, status, text);
      assert.match(text, message);
    }
    assert.equal((await api('/replications/r-none')).status, 404);
  });

  test('an S3 bucket imports into a vault, byte-exact, multi-part objects in parts', async () => {
    // Act
    const job = await start({
      source: { bucket: 'plain-in', endpoint: cloud.endpoints.s3 },
      destination: { vault: 'imported' },
    });
    const done = await finished(job.id);

    // Assess
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.deepEqual(done.tasks, { total: 50, done: 50, failed: 0, pending: 0 });
    for (const [key, body] of objects)
      assert.equal(sha(await vaultObject('imported', key, body.length)), sha(body), key);
    const res = await api(`/replications/${job.id}/tasks?limit=1000`);
    const { tasks } = (await res.json()) as {
      tasks: Array<{ key: string; partsDone?: number; attempts: number; state: string }>;
    };
    assert.equal(tasks.length, 50);
    const threeParts = tasks.find((t) => t.key === 'large/3.bin');
    assert.equal(threeParts?.partsDone, 3);
    assert.ok(
      tasks.every((t) => t.state === 'done' && t.attempts >= 1),
      JSON.stringify(tasks.filter((t) => t.state !== 'done')),
    );
  });

  test('a vault copies to another vault, byte-exact', async () => {
    const job = await start({ source: { vault: 'imported' }, destination: { vault: 'mirror' } });
    const done = await finished(job.id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(done.tasks.done, 50);
    for (const [key, body] of objects)
      assert.equal(sha(await vaultObject('mirror', key, body.length)), sha(body), key);
  });

  test('a vault copies to a plain S3 bucket byte-exact, and a second run copies nothing', async () => {
    // Act
    const job = await start({
      source: { vault: 'mirror' },
      destination: { bucket: 'plain-out', endpoint: cloud.endpoints.s3 },
    });
    const done = await finished(job.id);

    // Assess
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    for (const [key, body] of objects)
      assert.equal(sha(await bucketObject('plain-out', key)), sha(body), key);
    const putsBefore = cloud.faults.bucketRequestCounts('plain-out').put;
    const again = await finished(
      (
        await start({
          source: { vault: 'mirror' },
          destination: { bucket: 'plain-out', endpoint: cloud.endpoints.s3 },
        })
      ).id,
    );
    assert.equal(again.state, 'succeeded');
    assert.equal(again.tasks.total, 0);
    assert.equal(cloud.faults.bucketRequestCounts('plain-out').put, putsBefore);
  });

  test('dsn replicate copies a vault prefix to a bucket and waits with --watch; dsn replication ls and show list it', async () => {
    // Prepare
    const dsn = (args: string[]) => runDsn(['--endpoint', cloud.endpoints.api, ...args]);
    await s3.send(new CreateBucketCommand({ Bucket: 'plain-cli' }));

    // Act
    const copy = await dsn([
      'replicate',
      'mirror/docs/',
      's3://plain-cli/backup/',
      '--endpoint-url',
      cloud.endpoints.s3,
      '--watch',
      '--json',
    ]);
    const job = JSON.parse(copy.stdout) as JobView;
    const ls = await dsn(['replication', 'ls', '--json']);
    const show = await dsn(['replication', 'show', job.id]);

    // Assess
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(job.state, 'succeeded');
    assert.equal(job.tasks.done, 46);
    const docs = [...objects].filter(([k]) => k.startsWith('docs/'));
    for (const [key, body] of docs)
      assert.equal(sha(await bucketObject('plain-cli', `backup/${key.slice(5)}`)), sha(body), key);
    assert.equal(ls.code, 0, ls.stderr);
    const listed = JSON.parse(ls.stdout) as { replications: Array<{ id: string }> };
    assert.ok(listed.replications.some((r) => r.id === job.id));
    assert.match(
      show.stdout,
      new RegExp(`replication ${job.id}: succeeded, mirror/docs/ -> s3://plain-cli/backup/`),
    );
    assert.match(show.stdout, /tasks 46\/46 done/);
  });

  test('a copy forced to migrate mid-copy moves at a part boundary: no part is written twice, and the task shows both workers', async () => {
    // Prepare: a five-part object, and a destination bucket that answers each request late,
    // so the copy is still in flight when it is asked to move.
    const big = randomBytes(4 * PART + 11);
    for (const bucket of ['plain-big', 'plain-slow'])
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await putInParts(s3, 'plain-big', 'big.bin', big);
    cloud.faults.setBucket('plain-slow', { unit: -1, mode: 'slow', delayMs: 1000 });
    try {
      const job = await start({
        source: { bucket: 'plain-big', endpoint: cloud.endpoints.s3 },
        destination: { bucket: 'plain-slow', endpoint: cloud.endpoints.s3 },
      });
      type Task = {
        id: string;
        state: string;
        partsDone?: number;
        sourceWorker: number;
        destinationWorker: number;
      };
      const tasks = async () =>
        ((await (await api(`/replications/${job.id}/tasks`)).json()) as { tasks: Task[] }).tasks;
      const inFlight = await eventually(async () => {
        const [t] = await tasks();
        return t && t.state === 'running' && (t.partsDone ?? 0) >= 1 ? t : undefined;
      }, 'the copy to be under way');

      // Act
      const res = await api(`/replications/${job.id}/tasks/${inFlight.id}/migrate`, {
        method: 'POST',
        body: '{}',
      });
      assert.equal(res.status, 202, await res.clone().text());
      const { from, to } = (await res.json()) as { from: number; to: number };
      const done = await finished(job.id);

      // Assess
      assert.equal(done.state, 'succeeded', JSON.stringify(done));
      assert.equal(done.migrations, 1);
      assert.notEqual(from, to);
      const [t] = await tasks();
      assert.equal(t?.sourceWorker, from);
      assert.equal(t?.destinationWorker, to);
      assert.equal(t?.partsDone, 5);
      assert.equal(sha(await bucketObject('plain-slow', 'big.bin')), sha(big));
      const puts = cloud.faults.putsByKey('plain-slow');
      for (let part = 1; part <= 5; part++)
        assert.equal(puts.get(`big.bin#${part}`), 1, `part ${part}`);
    } finally {
      cloud.faults.setBucket('plain-slow', undefined);
    }
  });

  test('a cancelled job sends nothing more and its workers drop what is queued; a restart then finishes it, no object copied twice', async (t) => {
    // Prepare: a destination that answers each request a second late, so the job is far from
    // done when it is cancelled.
    await s3.send(new CreateBucketCommand({ Bucket: 'plain-cancel' }));
    cloud.faults.setBucket('plain-cancel', { unit: -1, mode: 'slow', delayMs: 1000 });
    const { sqs } = clients;
    try {
      const job = await start({
        source: { bucket: 'plain-in', endpoint: cloud.endpoints.s3 },
        destination: { bucket: 'plain-cancel', endpoint: cloud.endpoints.s3 },
      });
      await eventually(async () => {
        const res = await api(`/replications/${job.id}`);
        return ((await res.json()) as JobView).tasks.done > 0 ? true : undefined;
      }, 'a first copy to finish');

      // Act
      const cancelledAt = performance.now();
      const res = await api(`/replications/${job.id}/cancel`, { method: 'POST' });
      assert.equal(res.status, 202, await res.clone().text());
      assert.equal(((await res.json()) as JobView).state, 'cancelled');
      // Settled: every worker queue empty (what was queued taken and dropped) and no copy
      // still running.
      const queues = [0, 1, 2, 3].map((i) => cloud.ref(`ReplicationWorker${i}Queue`));
      await eventually(
        async () => {
          for (const QueueUrl of queues) {
            const { Attributes } = await sqs.send(
              new GetQueueAttributesCommand({
                QueueUrl,
                AttributeNames: [
                  'ApproximateNumberOfMessages',
                  'ApproximateNumberOfMessagesNotVisible',
                ],
              }),
            );
            if (
              Number(Attributes?.ApproximateNumberOfMessages) +
                Number(Attributes?.ApproximateNumberOfMessagesNotVisible) >
              0
            )
              return undefined;
          }
          const running = await api(`/replications/${job.id}/tasks?state=running`);
          return ((await running.json()) as { tasks: unknown[] }).tasks.length === 0
            ? true
            : undefined;
        },
        'the workers to drop what the cancelled job had queued',
        60_000,
      );
      const drained = performance.now();
      const cancelled = (await (await api(`/replications/${job.id}`)).json()) as JobView;
      const again = await api(`/replications/${job.id}/cancel`, { method: 'POST' });
      const restarted = await api(`/replications/${job.id}/restart`, { method: 'POST' });
      assert.equal(restarted.status, 202, await restarted.clone().text());
      const done = await finished(job.id);
      t.diagnostic(
        `cancel to drained ${(drained - cancelledAt).toFixed(0)} ms, restart to end ${(performance.now() - drained).toFixed(0)} ms`,
      );

      // Assess (the bucket answers at once again: 50 reads a second late each add nothing)
      cloud.faults.setBucket('plain-cancel', undefined);
      t.diagnostic(`done when cancelled: ${cancelled.tasks.done} of ${cancelled.tasks.total}`);
      assert.equal(cancelled.state, 'cancelled');
      assert.ok(
        cancelled.tasks.done < objects.size,
        `all ${objects.size} copied although cancelled: ${JSON.stringify(cancelled.tasks)}`,
      );
      assert.equal(again.status, 409);
      assert.equal(done.state, 'succeeded', JSON.stringify(done));
      assert.equal(done.tasks.done, objects.size);
      for (const [key, body] of objects)
        assert.equal(sha(await bucketObject('plain-cancel', key)), sha(body), key);
      const tasks = (
        (await (await api(`/replications/${job.id}/tasks?limit=1000`)).json()) as {
          tasks: Array<{ key: string }>;
        }
      ).tasks;
      for (const [key, count] of cloud.faults.putsByKey('plain-cancel'))
        assert.equal(
          count,
          1,
          `${key} written ${count} times: ${JSON.stringify(tasks.find((x) => x.key === key))}`,
        );
    } finally {
      cloud.faults.setBucket('plain-cancel', undefined);
    }
  });

  test('a job whose controller execution ended unfinished says so, and a restart finishes it', async () => {
    // Prepare: a destination that answers each request late, so the job is under way when its
    // execution is stopped from outside (as a controller that failed would leave it).
    await s3.send(new CreateBucketCommand({ Bucket: 'plain-stall' }));
    // 1 s a request, as in the cancel test: at 300 ms the copies left after the first could
    // all end in the moments the stop takes to arrive.
    cloud.faults.setBucket('plain-stall', { unit: -1, mode: 'slow', delayMs: 1000 });
    const { sfn } = clients;
    try {
      const job = await start({
        source: { bucket: 'plain-in', endpoint: cloud.endpoints.s3 },
        destination: { bucket: 'plain-stall', endpoint: cloud.endpoints.s3 },
      });
      const view = async () => (await (await api(`/replications/${job.id}`)).json()) as JobView;
      await eventually(
        async () => ((await view()).tasks.done > 0 ? true : undefined),
        'a first copy to finish',
      );
      const { executions } = await sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: cloud.ref('ReplicationStepFunctionsStateMachine'),
        }),
      );
      const execution = executions?.find((e) => e.name === `${job.id}-1`);
      assert.ok(execution?.executionArn, `no execution ${job.id}-1`);

      // Act
      await sfn.send(new StopExecutionCommand({ executionArn: execution.executionArn }));
      const stalled = await view();
      cloud.faults.setBucket('plain-stall', undefined);
      const restarted = await api(`/replications/${job.id}/restart`, { method: 'POST' });
      const done = await finished(job.id);

      // Assess
      assert.equal(stalled.state, 'running');
      assert.match(stalled.error ?? '', /controller execution ended with the job unfinished/);
      assert.equal(restarted.status, 202, await restarted.clone().text());
      assert.equal(done.state, 'succeeded', JSON.stringify(done));
      assert.equal(done.error, undefined);
      for (const [key, body] of objects)
        assert.equal(sha(await bucketObject('plain-stall', key)), sha(body), key);
    } finally {
      cloud.faults.setBucket('plain-stall', undefined);
    }
  });

  test('rebalancing moves the queued tasks of a slowed worker, and the job ends sooner than with rebalancing off', async (t) => {
    // Prepare: 40 small objects; worker 0 waits 800 ms after it claims each task, before it
    // copies (DSN_REPLICATION_SLOW_TASK_MS), as a worker on a slow host would. A delay before
    // each invocation instead (`invoker.slow`) also held up the stale deliveries the worker
    // drops, so the job with rebalancing waited for the slow worker's first batch all the same,
    // and the two runs came within noise of each other on a loaded machine.
    for (const bucket of ['plain-rb', 'plain-rb-off', 'plain-rb-on'])
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (let i = 0; i < 40; i++)
      await s3.send(
        new PutObjectCommand({ Bucket: 'plain-rb', Key: `o/${i}`, Body: randomBytes(2000 + i) }),
      );
    const endpoint = cloud.endpoints.s3;
    const run = async (rebalance: boolean) => {
      const job = await start({
        source: { bucket: 'plain-rb', endpoint },
        destination: { bucket: rebalance ? 'plain-rb-on' : 'plain-rb-off', endpoint },
        rebalance,
      });
      const done = (await finished(job.id)) as JobView & { startedAt: string; finishedAt: string };
      assert.equal(done.state, 'succeeded');
      const { tasks } = (await (await api(`/replications/${job.id}/tasks?limit=1000`)).json()) as {
        tasks: Array<{ destinationWorker: number }>;
      };
      return {
        ms: Date.parse(done.finishedAt) - Date.parse(done.startedAt),
        onSlow: tasks.filter((t) => t.destinationWorker === 0).length,
      };
    };
    // 800 ms: at 400 the runs took 2.4 s and 4.9 s, a gap a stall of the loaded machine in the
    // run with rebalancing could close; each task left on the slow worker now costs 0.8 s.
    cloud.invoker.configure('replicationWorker0', { DSN_REPLICATION_SLOW_TASK_MS: '800' });
    try {
      // Act
      const off = await run(false);
      const on = await run(true);

      // Assess
      t.diagnostic(
        `rebalancing on: ${on.ms} ms, ${on.onSlow} tasks on the slow worker; off: ${off.ms} ms, ${off.onSlow}`,
      );
      assert.ok(
        on.onSlow < off.onSlow,
        `tasks left on the slow worker: ${on.onSlow} vs ${off.onSlow}`,
      );
      assert.ok(on.ms < off.ms, `with rebalancing ${on.ms} ms, without ${off.ms} ms`);
    } finally {
      cloud.invoker.configure('replicationWorker0', { DSN_REPLICATION_SLOW_TASK_MS: undefined });
    }
  });

  test('the continuous rule: a PUT and a DELETE on the source vault show up at the destination', async () => {
    // Prepare
    await s3.send(new CreateBucketCommand({ Bucket: 'plain-cont' }));
    const set = await api('/vaults/imported/replication', {
      method: 'PUT',
      body: JSON.stringify({ destination: { bucket: 'plain-cont', endpoint: cloud.endpoints.s3 } }),
    });
    assert.equal(set.status, 200, await set.clone().text());
    const rule = (await set.json()) as { jobId: string };
    const body = randomBytes(3000);
    const present = async () => {
      try {
        return await bucketObject('plain-cont', 'cont/new.bin');
      } catch {
        return undefined;
      }
    };

    // Act, and Assess
    const put = await api('/vaults/imported/objects/cont/new.bin', { method: 'PUT', body });
    assert.equal(put.status, 201, await put.clone().text());
    const arrived = await eventually(present, 'the PUT at the destination');
    assert.equal(sha(arrived), sha(body));
    const del = await api('/vaults/imported/objects/cont/new.bin', { method: 'DELETE' });
    assert.equal(del.status, 204, await del.clone().text());
    await eventually(
      async () => ((await present()) === undefined ? true : undefined),
      'the DELETE at the destination',
    );
    const shown = (await (await api('/vaults/imported/replication')).json()) as { jobId: string };
    assert.equal(shown.jobId, rule.jobId);
    // The destination may show the delete before the worker's status is logged.
    const job = await eventually(async () => {
      const j = (await (await api(`/replications/${rule.jobId}`)).json()) as JobView;
      return j.tasks.pending === 0 ? j : undefined;
    }, 'both tasks logged');
    assert.deepEqual(job.tasks, { total: 2, done: 2, failed: 0, pending: 0 });
    // A standing job ends with its rule only: a cancel would drop later commits silently.
    const cancel = await api(`/replications/${rule.jobId}/cancel`, { method: 'POST' });
    assert.equal(cancel.status, 409);
    assert.match(await cancel.text(), /remove the rule \(DELETE \/vaults\/imported\/replication\)/);
    assert.equal(
      ((await (await api(`/replications/${rule.jobId}`)).json()) as JobView).state,
      'running',
    );
    assert.equal((await api('/vaults/imported/replication', { method: 'DELETE' })).status, 204);
    assert.equal((await api('/vaults/imported/replication')).status, 404);
  });

  type RuleTask = { key: string; state: string; attempts: number; destinationWorker: number };
  /**
   * A continuous rule from `mirror` to a new bucket that refuses writes, and one object put
   * there: resolves once its first attempt failed and the retry is queued (held back 5 s).
   */
  const failedFirstCopy = async (bucket: string, key: string) => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    cloud.faults.setBucket(bucket, { unit: -1, mode: 'write-fail' });
    const set = await api('/vaults/mirror/replication', {
      method: 'PUT',
      body: JSON.stringify({ destination: { bucket, endpoint: cloud.endpoints.s3 } }),
    });
    assert.equal(set.status, 200, await set.clone().text());
    const { jobId } = (await set.json()) as { jobId: string };
    const body = randomBytes(2500);
    // This key's task: a late event of an earlier test's key may add a task to the job too.
    const taskOf = async () =>
      (
        (await (await api(`/replications/${jobId}/tasks?limit=10`)).json()) as {
          tasks: RuleTask[];
        }
      ).tasks.find((t) => t.key === key);
    const put = await api(`/vaults/mirror/objects/${key}`, { method: 'PUT', body });
    assert.equal(put.status, 201, await put.clone().text());
    const retried = await eventually(
      async () => {
        const t = await taskOf();
        return t?.attempts === 2 && t.state === 'queued' ? t : undefined;
      },
      'the first attempt to fail and its retry to be queued',
      60_000,
    );
    return { jobId, body, taskOf, retried };
  };

  test('the continuous rule: a copy whose destination refused it is sent again after a delay, and arrives once the destination takes writes', async () => {
    try {
      // Prepare: the destination refuses every write until the first failure is logged.
      const { body, taskOf, retried } = await failedFirstCopy('plain-retry', 'retry/one.bin');

      // Act: let writes in while the retry is held back.
      cloud.faults.setBucket('plain-retry', undefined);
      const arrived = await eventually(
        async () => {
          try {
            return await bucketObject('plain-retry', 'retry/one.bin');
          } catch {
            return undefined;
          }
        },
        'the retried copy at the destination',
        60_000,
      );

      // Assess
      assert.equal(sha(arrived), sha(body));
      const done = await eventually(
        async () => ((await taskOf())?.state === 'done' ? taskOf() : undefined),
        'the retry to be logged done',
      );
      assert.equal(done?.attempts, 2);
      assert.equal(done?.destinationWorker, retried?.destinationWorker, 'the same worker');
      assert.equal((await api('/vaults/mirror/replication', { method: 'DELETE' })).status, 204);
    } finally {
      cloud.faults.setBucket('plain-retry', undefined);
    }
  });

  test("the continuous rule: a restart sends a failed task again at once, and a removed rule's job answers 409", async () => {
    try {
      // Prepare: the first attempt failed; the destination takes writes again.
      const { jobId, body, taskOf, retried } = await failedFirstCopy(
        'plain-restart',
        'restart/one.bin',
      );
      cloud.faults.setBucket('plain-restart', undefined);

      // Act: restart while the retry is still held back.
      const restarted = await api(`/replications/${jobId}/restart`, { method: 'POST' });

      // Assess: sent again at once as attempt 3, to the same worker; the held-back attempt 2
      // is stale when it comes.
      assert.equal(restarted.status, 202, await restarted.clone().text());
      assert.equal(((await restarted.json()) as { restarts: number }).restarts, 1);
      const done = await eventually(
        async () => ((await taskOf())?.state === 'done' ? taskOf() : undefined),
        'the restarted copy to be logged done',
        60_000,
      );
      assert.equal(done?.attempts, 3);
      assert.equal(done?.destinationWorker, retried?.destinationWorker, 'the same worker');
      assert.equal(sha(await bucketObject('plain-restart', 'restart/one.bin')), sha(body));
      assert.equal((await api('/vaults/mirror/replication', { method: 'DELETE' })).status, 204);
      const ended = await api(`/replications/${jobId}/restart`, { method: 'POST' });
      assert.equal(ended.status, 409, await ended.clone().text());
    } finally {
      cloud.faults.setBucket('plain-restart', undefined);
    }
  });

  test('statuses delivered twice and shuffled leave the log as delivered once in order', async () => {
    // Prepare: a job's task in the log on the cloud's DynamoDB, sent as attempt 1.
    const log = new DynamoReplicationLog(clients.documents, cloud.ref('ReplicationTable'));
    const partSize = 10;
    await log.createJob(
      replicationJob({
        id: 'rshuffle',
        source: { vault: 'imported', prefix: '' },
        destination: { vault: 'mirror', prefix: '' },
        partSize,
        startedAt: new Date().toISOString(),
      }),
    );
    const task = {
      jobId: 'rshuffle',
      id: 'tshuffle',
      kind: 'copy' as const,
      key: 'k',
      destinationKey: 'k',
      size: 25,
      modifiedAt: 0,
      state: 'pending' as const,
      attempts: 0,
      round: 0,
      partsDone: 0,
      etags: {},
      bytesCopied: 0,
    };
    await log.putTasks([task]);
    assert.ok(
      await log.markDispatched(task, { attempt: 1, round: 1, worker: 2, keepSource: false }),
    );
    assert.ok(
      !(await log.markDispatched(task, { attempt: 1, round: 1, worker: 3, keepSource: false })),
    );
    const base = { jobId: 'rshuffle', taskId: 'tshuffle', attempt: 1, worker: 2, at: Date.now() };
    const statuses: TaskStatus[] = [
      { ...base, type: 'started' },
      ...[1, 2, 3].map((part) => ({
        ...base,
        type: 'part' as const,
        // Each checkpoint a second after the one before, at the worker.
        at: base.at + part * 1000,
        part,
        uploadId: 'u1',
        etag: `e${part}`,
      })),
      { ...base, type: 'done', bytes: 25, uploadId: 'u1' },
    ];
    const twice = [...statuses, ...statuses];
    for (let i = twice.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [twice[i], twice[j]] = [twice[j] as TaskStatus, twice[i] as TaskStatus];
    }

    // The same checkpoints, without the `done`, for a second task.
    const second = { ...task, id: 'tshuffle2' };
    await log.putTasks([second]);
    await log.markDispatched(second, { attempt: 1, round: 1, worker: 1, keepSource: false });
    const checkpoints = twice
      .filter((s) => s.type !== 'done')
      .map((s) => ({ ...s, taskId: 'tshuffle2', worker: 1 }));

    // Act
    for (const s of twice) await log.applyStatus(s, partSize);
    for (const s of checkpoints) await log.applyStatus(s, partSize);

    // Assess
    const after = await log.getTask('rshuffle', 'tshuffle');
    const inFlight = await log.getTask('rshuffle', 'tshuffle2');
    assert.equal(inFlight?.state, 'running');
    assert.equal(inFlight?.partsDone, 3);
    assert.deepEqual(inFlight?.etags, { 1: 'e1', 2: 'e2', 3: 'e3' });
    assert.equal(inFlight?.uploadId, 'u1');
    // The time of the highest checkpoint, as its worker sent it, whatever order they came in.
    assert.equal(inFlight?.checkpointAt, new Date(base.at + 3000).toISOString());
    assert.equal(after?.state, 'done');
    assert.equal(after?.attempts, 1);
    assert.equal(after?.destinationWorker, 2);
    assert.equal(after?.bytesCopied, 25);
    // The checkpoints that came before `done` are kept; those after it change nothing.
    assert.ok((after?.partsDone ?? 0) <= 3);
    for (const [part, etag] of Object.entries(after?.etags ?? {})) assert.equal(etag, `e${part}`);
    assert.equal(after?.uploadId === undefined || after.uploadId === 'u1', true);
  });

  test('a stopped status delivered twice and shuffled with its checkpoints sends the remainder once, to the named worker', async () => {
    // Prepare: a five-part copy on worker 0, asked to move to worker 2, in the cloud's log.
    const log = new DynamoReplicationLog(clients.documents, cloud.ref('ReplicationTable'));
    const partSize = 10;
    await log.createJob(
      replicationJob({
        id: 'rremainder',
        source: { vault: 'imported', prefix: '' },
        destination: { vault: 'mirror', prefix: '' },
        partSize,
        startedAt: new Date().toISOString(),
      }),
    );
    const task = {
      jobId: 'rremainder',
      id: 'tremainder',
      kind: 'copy' as const,
      key: 'k',
      destinationKey: 'k',
      size: 50,
      modifiedAt: 0,
      state: 'pending' as const,
      attempts: 0,
      round: 0,
      partsDone: 0,
      etags: {},
      bytesCopied: 0,
    };
    await log.putTasks([task]);
    await log.markDispatched(task, { attempt: 1, round: 1, worker: 0, keepSource: false });
    const base = { jobId: 'rremainder', taskId: 'tremainder', attempt: 1, worker: 0, at: 0 };
    await log.applyStatus({ ...base, type: 'started' }, partSize);
    assert.ok(await log.requestStop('rremainder', 'tremainder', 2, Date.now()));
    const checkpoints: TaskStatus[] = [1, 2].map((part) => ({
      ...base,
      type: 'part',
      part,
      uploadId: 'u1',
      etag: `e${part}`,
    }));
    const stop: TaskStatus = { ...base, type: 'stopped', part: 2, uploadId: 'u1', etag: 'e2' };
    const { deps, sent } = statusLogOver(log);

    // Act: part 1's checkpoint; the stop twice at once, before part 2's checkpoint (reordered:
    // the stop carries its ETag); then part 2's, and the stop once more, late.
    await recordStatusOnce(deps, checkpoints[0] as TaskStatus);
    await Promise.all([recordStatusOnce(deps, stop), recordStatusOnce(deps, stop)]);
    for (const s of [checkpoints[1] as TaskStatus, stop, ...checkpoints])
      await recordStatusOnce(deps, s);

    // Assess
    const after = await log.getTask('rremainder', 'tremainder');
    const job = await log.getJob('rremainder');
    assert.deepEqual(sent, [
      { worker: 2, message: { jobId: 'rremainder', taskId: 'tremainder', attempt: 2 } },
    ]);
    assert.equal(after?.state, 'queued');
    assert.equal(after?.attempts, 2);
    assert.equal(after?.sourceWorker, 0);
    assert.equal(after?.destinationWorker, 2);
    assert.equal(after?.partsDone, 2);
    assert.deepEqual(after?.etags, { 1: 'e1', 2: 'e2' });
    assert.equal(job?.migrations, 1);
  });

  test('a copy stopped within its first part keeps its upload: the remainder resumes it', async () => {
    // Prepare: a copy asked to move while its first part is on its way.
    const log = new DynamoReplicationLog(clients.documents, cloud.ref('ReplicationTable'));
    await log.createJob(
      replicationJob({
        id: 'rfirstpart',
        source: { vault: 'imported', prefix: '' },
        destination: { vault: 'mirror', prefix: '' },
        partSize: 10,
        startedAt: new Date().toISOString(),
      }),
    );
    const task = replicationTask({
      jobId: 'rfirstpart',
      id: 'tfirst',
      size: 50,
      state: 'pending',
      attempts: 0,
      round: 0,
    });
    await log.putTasks([task]);
    await log.markDispatched(task, { attempt: 1, round: 1, worker: 0, keepSource: false });
    const base = { jobId: 'rfirstpart', taskId: 'tfirst', attempt: 1, worker: 0, at: 0 };
    await log.applyStatus({ ...base, type: 'started' }, 10);
    assert.ok(await log.requestStop('rfirstpart', 'tfirst', 1, Date.now()));
    const { deps, sent } = statusLogOver(log);

    // Act: the stop, with no part done and the upload the worker opened.
    await recordStatusOnce(deps, { ...base, type: 'stopped', part: 0, uploadId: 'u-first' });

    // Assess
    const after = await log.getTask('rfirstpart', 'tfirst');
    assert.equal(after?.uploadId, 'u-first');
    assert.equal(after?.partsDone, 0);
    assert.deepEqual(sent, [
      { worker: 1, message: { jobId: 'rfirstpart', taskId: 'tfirst', attempt: 2 } },
    ]);
  });
});

/**
 * `npm run bench:work`: work items (seed 001) against a plain SQS consumer pool, side by side in
 * one run on the same local cloud (fauxqs, dynalite).
 *
 * Each worker count has its own 4-of-6 vault (T = 5) holding 200 objects of 4 KiB; a round is
 * 200 `digest` items, one per object, and the rounds run work, pool, pool, work, added up (a
 * load on this shared machine that changes meanwhile weighs on both sides alike). The work side
 * runs 1, 2, 4 or 8 workers in this process, each the worker of the Lambda function and
 * `dsn work run` (list the open items, reserve one, lock-read-delete at its units, the ownership
 * threshold of them first, run the op, record the outcome under the fencing token, delete the
 * slices, several items' together). The
 * peer is the same 200 digests done by as many consumers of one SQS queue (a message per
 * object, one message per receive, visibility timeout 30 s, delete when done, no ownership
 * protocol) through the same op and object reader. Items are added without the queue nudge and
 * the schedule is stopped, so the Lambda worker stays out of it.
 *
 * Printed per worker count: items/s of both and their ratio, lock-read-delete attempts per item
 * (rounds of unit locks, owned or not, over items done), reservations refused per item (an item
 * another worker was taking, passed over with one conditional write and no unit asked),
 * DynamoDB requests per item of both sides (the op's own reads included, the same on both),
 * this process's CPU time per item (the emulators run in it: a figure the machine's load moves
 * less than the rates), and claim latency (step start to owned) p50 / p99, with the SQS receive latency beside it.
 * The workers are the Lambda function's (`drainWork`), each given its slot (index of count),
 * as `dsn work run --workers N` gives its workers.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startBenchCloud } from './local-cloud.ts';

const ITEMS = 200;
const OBJECT_SIZE = 4096;
const WORKER_COUNTS = [1, 2, 4, 8];
const { cloud, api, stop } = await startBenchCloud('dsn-bench-work');
cloud.schedules.stop();
Object.assign(process.env, cloud.functionEnvironment('worker'));
const { runtime } = await import('../shared/aws/runtime.ts');
const { wireStoreApi } = await import('../shared/aws/store/wire.ts');
const { wireWork, wireWorker } = await import('../shared/aws/work/wire.ts');
const { writeObject } = await import('../shared/store/writer.ts');
const { silentLogger } = await import('../shared/log.ts');
const { addWork, builtInOps, OPEN_STATES, drainWork, storeObjectAccess } = await import(
  '../shared/work/index.ts'
);

const rt = { ...runtime('bench'), log: silentLogger };
/** DynamoDB requests sent by this process's clients (both sides' and the op's). */
let dynamoRequests = 0;
rt.clients.dynamodb.middlewareStack.add(
  (next) => async (args) => {
    dynamoRequests++;
    return next(args);
  },
  { step: 'initialize', name: 'benchCountRequests' },
);
const store = wireStoreApi(rt);
const list = { ...wireWork(rt), nudge: undefined };
const sqs = new SQSClient({
  endpoint: cloud.endpoints.sqs,
  region: cloud.service.region,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const ops = builtInOps();
const key = (i: number) => `in/${String(i).padStart(3, '0')}`;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? Number.NaN;
};

async function prepareVault(name: string): Promise<void> {
  const res = await api('/vaults', {
    method: 'POST',
    body: JSON.stringify({
      name,
      width: 6,
      readThreshold: 4,
      writeThreshold: 5,
      segmentSize: 64 * 1024,
      units: [0, 1, 2, 3, 4, 5],
    }),
  });
  if (res.status !== 201) throw new Error(`vault ${name}: ${res.status} ${await res.text()}`);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ITEMS) {
        const i = next++;
        const body = randomBytes(OBJECT_SIZE);
        const out = await writeObject(
          store.writer,
          name,
          key(i),
          (async function* () {
            yield body;
          })(),
          { waitMs: 60_000 },
        );
        if (out.state !== 'committed') throw new Error(`PUT ${key(i)} ended ${out.state}`);
      }
    }),
  );
}

interface Round {
  seconds: number;
  /** CPU time of this process (it runs the emulators too), in ms. */
  cpu: number;
  attempts: number;
  held: number;
  dynamo: number;
  latencies: number[];
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Two rounds as one: times, counts and latencies added up. */
const merge = (a: Round, b: Round): Round => ({
  seconds: a.seconds + b.seconds,
  cpu: a.cpu + b.cpu,
  attempts: a.attempts + b.attempts,
  held: a.held + b.held,
  dynamo: a.dynamo + b.dynamo,
  latencies: [...a.latencies, ...b.latencies],
});

async function workRound(vault: string, workers: number): Promise<Round> {
  for (let i = 0; i < ITEMS; i++)
    await addWork(list, vault, { op: 'digest', args: { prefix: key(i) } });
  let attempts = 0;
  let held = 0;
  let done = 0;
  const latencies: number[] = [];
  const before = dynamoRequests;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  // Until the last item is done: workers still polling an empty list after it do not count.
  let t1 = Number.NaN;
  let cpu = Number.NaN;
  let dynamo = Number.NaN;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const { deps } = wireWorker(rt, `bench-${w}`);
      deps.slot = { index: w, count: workers };
      let started = performance.now();
      deps.hooks = {
        claimed: (_item, _token, owned) => {
          attempts++;
          if (owned) latencies.push(performance.now() - started);
        },
        held: () => {
          held++;
        },
      };
      const log = deps.log;
      deps.log = {
        ...log,
        info: (message, fields) => {
          if (message !== 'work item finished') return;
          if (fields?.outcome !== 'done') throw new Error(`${fields?.id} ${fields?.outcome}`);
          started = performance.now();
          if (++done === ITEMS) {
            t1 = performance.now();
            cpu = cpuMs() - cpu0;
            dynamo = dynamoRequests - before;
          }
        },
      };
      for (;;) {
        started = performance.now();
        if ((await drainWork(deps, vault)) > 0) continue;
        const open = await deps.store.list(vault, { states: OPEN_STATES, limit: 1 });
        if (open.items.length === 0) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    }),
  );
  const seconds = (t1 - t0) / 1000;
  if (done !== ITEMS) throw new Error(`work round ran ${done} of ${ITEMS}`);
  return { seconds, cpu, attempts, held, dynamo, latencies };
}

async function sqsRound(vault: string, consumers: number, round: number): Promise<Round> {
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: `bench-work-pool-${vault}-${round}`,
      Attributes: { VisibilityTimeout: '30' },
    }),
  );
  const QueueUrl = created.QueueUrl as string;
  for (let i = 0; i < ITEMS; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: Array.from({ length: 10 }, (_, j) => ({
          Id: String(j),
          MessageBody: key(i + j),
        })),
      }),
    );
  }
  const digest = ops.get('digest');
  const objects = storeObjectAccess(
    { reader: store.reader, writer: store.writer, commitWaitMs: store.commitWaitMs },
    vault,
  );
  let done = 0;
  let attempts = 0;
  const latencies: number[] = [];
  const before = dynamoRequests;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  // Until the last message is deleted: an empty long poll after it does not count.
  let t1 = Number.NaN;
  let cpu = Number.NaN;
  let dynamo = Number.NaN;
  await Promise.all(
    Array.from({ length: consumers }, async () => {
      while (done < ITEMS) {
        const started = performance.now();
        const got = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
        );
        const message = got.Messages?.[0];
        if (!message) continue;
        attempts++;
        latencies.push(performance.now() - started);
        await digest.run(
          { vault, id: message.MessageId as string, objects },
          { prefix: message.Body as string },
        );
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle as string }),
        );
        if (++done === ITEMS) {
          t1 = performance.now();
          cpu = cpuMs() - cpu0;
          dynamo = dynamoRequests - before;
        }
      }
    }),
  );
  const seconds = (t1 - t0) / 1000;
  return { seconds, cpu, attempts, held: 0, dynamo, latencies };
}

const rows: string[] = [];
let at8: { ratio: number; attempts: number } | undefined;
try {
  for (const workers of WORKER_COUNTS) {
    const vault = `bench-w${workers}`;
    await prepareVault(vault);
    // Work, pool, pool, work: a load on the shared machine that rises or falls during the pair
    // weighs on both sides alike.
    const work1 = await workRound(vault, workers);
    const pool = merge(await sqsRound(vault, workers, 1), await sqsRound(vault, workers, 2));
    const work = merge(work1, await workRound(vault, workers));
    const workRate = (2 * ITEMS) / work.seconds;
    const poolRate = (2 * ITEMS) / pool.seconds;
    const perItem = work.attempts / (2 * ITEMS);
    const per = (x: number, digits: number) => (x / (2 * ITEMS)).toFixed(digits);
    if (workers === 8) at8 = { ratio: workRate / poolRate, attempts: perItem };
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    rows.push(
      `| ${workers} | ${workRate.toFixed(1)} | ${poolRate.toFixed(1)} | ${(workRate / poolRate).toFixed(2)}x | ${perItem.toFixed(2)} | ${per(work.held, 2)} | ${per(work.dynamo, 1)} / ${per(pool.dynamo, 1)} | ${per(work.cpu, 1)} / ${per(pool.cpu, 1)} | ${ms(quantile(work.latencies, 0.5))} / ${ms(quantile(work.latencies, 0.99))} | ${ms(quantile(pool.latencies, 0.5))} / ${ms(quantile(pool.latencies, 0.99))} |`,
    );
  }
  console.log(
    `work items on the local cloud (fauxqs, dynalite), Node ${process.version}; per worker count a 4-of-6 vault (T = 5, ownership threshold 5) with ${ITEMS} objects of ${OBJECT_SIZE / 1024} KiB; rounds of ${ITEMS} digest items, one per object, run work, pool, pool, work and are added up\n`,
  );
  console.log(
    '| workers | work items/s | SQS pool items/s | work / SQS | lock-read-delete attempts per item | reservations refused per item | DynamoDB requests per item, work / SQS pool | CPU ms per item, work / SQS pool | claim latency p50 / p99 | SQS receive latency p50 / p99 |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
  if (at8) {
    console.log(
      `\nat 8 workers: work / SQS ${at8.ratio.toFixed(2)}x (target >= 0.5x: ${at8.ratio >= 0.5 ? 'met' : 'MISSED'}); attempts per item ${at8.attempts.toFixed(2)} (target <= 1.3: ${at8.attempts <= 1.3 ? 'met' : 'MISSED'})`,
    );
  }
} finally {
  sqs.destroy();
  await stop();
}

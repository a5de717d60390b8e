/**
 * `npm start` stops within 5 s of SIGTERM or SIGINT whatever is in flight, says what it cut
 * short, and frees its data folder for the next start; a second signal exits at once. Each
 * test runs the cloud as its own process (`npm start`'s entry) on ephemeral ports with its own
 * data folder, puts it in one state, signals it, and times the exit.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  type CloudProcess,
  eventually,
  killCloudProcesses,
  signedHeaders,
  startCloudProcess,
  tempDir,
} from '../helpers/local-cloud.ts';

/** The bound: a service manager, a test runner or Ctrl-C expects the process gone by then. */
const STOP_BOUND_MS = 5000;
/** A PUT never needs this long here: longer means the cloud is waiting on something cut. */
const SLOW_UNIT_MS = 60_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the (first) signal to the exit. */
  ms: number;
  output: string;
}

after(killCloudProcesses);

/** Waits for the cloud to exit, at most twice the bound: then it is killed (and fails). */
function exited(cloud: CloudProcess, since: number): Promise<Exit> {
  return new Promise((resolve) => {
    const killer = setTimeout(() => cloud.child.kill('SIGKILL'), 2 * STOP_BOUND_MS);
    const done = () => {
      clearTimeout(killer);
      resolve({
        code: cloud.child.exitCode,
        signal: cloud.child.signalCode,
        ms: Date.now() - since,
        output: cloud.output(),
      });
    };
    if (cloud.child.exitCode !== null || cloud.child.signalCode !== null) done();
    else cloud.child.once('exit', done);
  });
}

async function signal(cloud: CloudProcess, name: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
  const since = Date.now();
  cloud.child.kill(name);
  return exited(cloud, since);
}

/** The one line a stop ends with. */
function stopLine(exit: Exit): string {
  return (
    /^stopped in .*$/m.exec(exit.output)?.[0] ?? `(no stop line in: ${exit.output.slice(-600)})`
  );
}

/** The measured stop, in the test's output (`# ...`), for whoever compares runs. */
function report(t: { diagnostic(message: string): void }, exit: Exit): void {
  const last = /^(stopped in|\w+ again:) .*$/m.exec(exit.output)?.[0] ?? '(no stop line)';
  t.diagnostic(`exit ${exit.code ?? exit.signal} after ${exit.ms} ms: ${last}`);
}

function assertStoppedInTime(exit: Exit): void {
  assert.ok(
    exit.ms < STOP_BOUND_MS,
    `stopped after ${exit.ms} ms; last output: ${exit.output.slice(-600)}`,
  );
  assert.equal(exit.code, 0, `exit code; output: ${exit.output.slice(-600)}`);
}

/** The next start on the same data folder works: the lock was released, the state is whole. */
async function assertStartsAgain(dataDir: string): Promise<void> {
  assert.equal(existsSync(join(dataDir, 'cloud.lock')), false, 'the lock was released');
  const again = await startCloudProcess(dataDir);
  const health = await fetch(`${again.api}/health`);
  assert.equal(health.status, 200, await health.text());
  const exit = await signal(again);
  assertStoppedInTime(exit);
}

const api = (cloud: CloudProcess, path: string, init?: RequestInit) =>
  fetch(`${cloud.api}${path}`, init);

async function putFault(cloud: CloudProcess, unit: number, fault: object): Promise<void> {
  const res = await api(cloud, `/admin/units/${unit}/fault`, {
    method: 'PUT',
    body: JSON.stringify(fault),
  });
  assert.equal(res.status, 200, await res.text());
}

/** Slice files on the units' disks. */
async function slicesOnDisk(dataDir: string): Promise<number> {
  const buckets = join(dataDir, 's3', 'buckets');
  let count = 0;
  for (const bucket of await readdir(buckets).catch(() => [] as string[])) {
    if (!/-unit-\d+-/.test(bucket)) continue;
    const files = await readdir(join(buckets, bucket, 'objects'), { recursive: true }).catch(
      () => [] as string[],
    );
    count += files.filter((f) => f.endsWith('.data')).length;
  }
  return count;
}

/** One call of SQS's JSON protocol to the cloud's emulator, as any SDK makes it. */
async function sqs(
  cloud: CloudProcess,
  action: string,
  body: object,
  agent?: Agent,
  onSent?: () => void,
) {
  const url = new URL(cloud.aws.AWS_ENDPOINT_URL_SQS as string);
  const payload = JSON.stringify(body);
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/',
        agent,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `AmazonSQS.${action}`,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve(text ? JSON.parse(text) : {}));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // 'finish': the whole request is handed to the connection, which is established by then.
    if (onSent) req.on('finish', onSent);
    req.end(payload);
  });
}

async function queueUrl(cloud: CloudProcess, suffix: string): Promise<string> {
  const { QueueUrls } = (await sqs(cloud, 'ListQueues', {})) as { QueueUrls?: string[] };
  const url = QueueUrls?.find((u) => u.endsWith(suffix));
  assert.ok(url, `a queue named *${suffix} among ${QueueUrls}`);
  return url;
}

describe('stopping the local cloud', () => {
  const dirs: Array<Awaited<ReturnType<typeof tempDir>>> = [];
  const newDataDir = async () => {
    const dir = await tempDir('dsn-stop');
    dirs.push(dir);
    return dir.path;
  };

  after(async () => {
    for (const dir of dirs) await dir.remove();
  });

  test('SIGTERM while a PUT waits on slow units stops within 5 s, cutting the api invocation and the request', async (t) => {
    // Prepare: T = 5 of the default vault's 6 units, two of which hold every request, so the
    // PUT's invocation waits for a commit that cannot come.
    const dataDir = await newDataDir();
    const cloud = await startCloudProcess(dataDir);
    for (const unit of [2, 5]) await putFault(cloud, unit, { mode: 'slow', delayMs: SLOW_UNIT_MS });
    const put = api(cloud, '/vaults/default/objects/waiting.bin', {
      method: 'PUT',
      body: randomBytes(100_000),
    }).then(
      (res) => res.status,
      () => 'connection lost',
    );
    await eventually(
      async () => ((await slicesOnDisk(dataDir)) >= 4 ? true : undefined),
      'slices on the four fast units',
    );

    // Act
    const exit = await signal(cloud);
    report(t, exit);

    // Assess: the client is told (503) or at least not left hanging.
    assertStoppedInTime(exit);
    assert.match(stopLine(exit), /cut short: .*\b1 api invocation\b.*\b1 HTTP request\b/);
    assert.ok([503, 'connection lost'].includes(await put), `the PUT ended with ${await put}`);
    await assertStartsAgain(dataDir);
  });

  test('SIGTERM while an SQS-triggered function is still starting stops within 5 s', async (t) => {
    // Prepare: a message for the rebuilder, whose execution environment is not started yet;
    // once the poller has taken it, the invocation waits for its worker to load.
    const dataDir = await newDataDir();
    const cloud = await startCloudProcess(dataDir);
    const url = await queueUrl(cloud, '-RebuildQueue');
    await sqs(cloud, 'SendMessage', {
      QueueUrl: url,
      MessageBody: JSON.stringify({ vault: 'default', id: 'no-such-job' }),
    });
    await eventually(async () => {
      const { Attributes } = (await sqs(cloud, 'GetQueueAttributes', {
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
      })) as { Attributes?: Record<string, string> };
      return Number(Attributes?.ApproximateNumberOfMessagesNotVisible) > 0 ? true : undefined;
    }, 'the rebuilder poller to take the message');

    // Act
    const exit = await signal(cloud);
    report(t, exit);

    // Assess: its invocation finished in the grace or was cut; either way the stop says so.
    assertStoppedInTime(exit);
    assert.match(stopLine(exit), /^stopped in .*; cut short: /);
    await assertStartsAgain(dataDir);
  });

  test('SIGTERM during a rebuild stops within 5 s, cutting the rebuilder invocation', async (t) => {
    // Prepare: one object, then a rebuild whose scan reads from a unit that holds every request
    // for a minute, as a long scan of a large vault keeps the rebuilder busy for minutes.
    const dataDir = await newDataDir();
    const cloud = await startCloudProcess(dataDir);
    const stored = await api(cloud, '/vaults/default/objects/scanned.bin', {
      method: 'PUT',
      body: randomBytes(100_000),
    });
    assert.equal(stored.status, 201, await stored.text());
    await putFault(cloud, 0, { mode: 'slow', delayMs: SLOW_UNIT_MS });
    const reads = async () => {
      const res = await api(cloud, '/admin/requests');
      const { units } = (await res.json()) as { units: Array<{ unit: number; get: number }> };
      return units.find((u) => u.unit === 0)?.get ?? 0;
    };
    const readsBefore = await reads();
    const started = await api(cloud, '/vaults/default/rebuild', {
      method: 'POST',
      body: JSON.stringify({ restart: true }),
    });
    assert.equal(started.status, 202, await started.text());
    await eventually(
      async () => ((await reads()) > readsBefore ? true : undefined),
      'the rebuild to read from the slow unit',
    );

    // Act
    const exit = await signal(cloud);
    report(t, exit);

    // Assess
    assertStoppedInTime(exit);
    assert.match(stopLine(exit), /cut short: .*\b1 rebuilder invocation\b/);
    await assertStartsAgain(dataDir);
  });

  test('SIGTERM with an upload open, a part staged and the next one still arriving, stops within 5 s', async (t) => {
    // Prepare: a staged upload with part 1 stored, and part 2 half sent by a client that
    // then goes quiet.
    const dataDir = await newDataDir();
    const cloud = await startCloudProcess(dataDir);
    const created = await api(cloud, '/vaults/default/uploads', {
      method: 'POST',
      body: JSON.stringify({ key: 'big.bin' }),
    });
    const createdBody = await created.text();
    assert.equal(created.status, 201, createdBody);
    const { uploadId } = JSON.parse(createdBody) as { uploadId: string };
    const part1 = await api(cloud, `/vaults/default/uploads/${uploadId}/parts/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: randomBytes(256 * 1024),
    });
    assert.equal(part1.status, 200, await part1.text());
    const url = new URL(cloud.api);
    const part2Path = `/vaults/default/uploads/${uploadId}/parts/2`;
    const signed = await signedHeaders(`${cloud.api}${part2Path}`, 'PUT');
    const part2 = request({
      host: url.hostname,
      port: url.port,
      method: 'PUT',
      path: part2Path,
      // The server answers 100 Continue once it has the request: then it is in flight.
      headers: {
        ...signed,
        'content-type': 'application/octet-stream',
        'content-length': 256 * 1024,
        expect: '100-continue',
      },
    });
    const part2Ended = new Promise<string>((resolve) => {
      part2.on('response', (res) => resolve(String(res.statusCode)));
      part2.on('error', () => resolve('connection lost'));
    });
    await new Promise<void>((resolve) => part2.once('continue', resolve));
    part2.write(randomBytes(64 * 1024));

    // Act
    const exit = await signal(cloud);
    report(t, exit);

    // Assess
    assertStoppedInTime(exit);
    assert.match(stopLine(exit), /cut short: .*\b1 HTTP request\b/);
    assert.ok(['503', 'connection lost'].includes(await part2Ended));
    await assertStartsAgain(dataDir);
    // The staged part survives the stop: the upload can go on.
    const again = await startCloudProcess(dataDir);
    const status = await api(again, `/vaults/default/uploads/${uploadId}`);
    const body = await status.text();
    assert.equal(status.status, 200, body);
    assert.match(body, /"state":"open"/);
    assertStoppedInTime(await signal(again));
  });

  test('SIGTERM with clients holding keep-alive connections and a long poll stops within 5 s, counting them', async (t) => {
    // Prepare: three idle keep-alive connections to the API, one to the S3 emulator, and an
    // SQS long poll in flight (20 s) from a client of our own.
    const dataDir = await newDataDir();
    const cloud = await startCloudProcess(dataDir);
    const agent = new Agent({ keepAlive: true, maxSockets: 3 });
    const headers = await signedHeaders(`${cloud.api}/health`);
    const health = () =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(cloud.api);
        request({ host: url.hostname, port: url.port, path: '/health', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
          .on('error', reject)
          .end();
      });
    assert.deepEqual(await Promise.all([health(), health(), health()]), [200, 200, 200]);
    const s3 = new URL(cloud.aws.AWS_ENDPOINT_URL_S3 as string);
    const s3Agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      request({ host: s3.hostname, port: s3.port, path: '/', agent: s3Agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    const pollAgent = new Agent({ keepAlive: true });
    const url = await queueUrl(cloud, '-RebuildDeadLetterQueue');
    let sent!: () => void;
    const pollSent = new Promise<void>((resolve) => {
      sent = resolve;
    });
    const longPoll = sqs(
      cloud,
      'ReceiveMessage',
      { QueueUrl: url, WaitTimeSeconds: 20 },
      pollAgent,
      sent,
    ).then(
      () => 'answered',
      () => 'connection lost',
    );
    // Readiness, not a sleep: the poll is written out, then a request sent after it on another
    // connection comes back, so the emulator has read the poll too (one event loop reads the
    // earlier bytes first). A socket in the agent alone may not even be connected yet.
    await pollSent;
    await sqs(cloud, 'GetQueueAttributes', { QueueUrl: url, AttributeNames: ['All'] });

    // Act
    const exit = await signal(cloud);
    report(t, exit);

    // Assess
    assertStoppedInTime(exit);
    assert.match(stopLine(exit), /cut short: .*\b3 keep-alive connections, 1 emulator request\b/);
    assert.equal(await longPoll, 'connection lost');
    for (const a of [agent, s3Agent, pollAgent]) a.destroy();
    await assertStartsAgain(dataDir);
  });

  test('a second signal during the stop exits at once, with a non-zero code, and frees the data folder', async (t) => {
    // Prepare: a PUT that waits on slow units, so the stop takes its whole grace.
    const dataDir = await newDataDir();
    const cloud = await startCloudProcess(dataDir);
    for (const unit of [2, 5]) await putFault(cloud, unit, { mode: 'slow', delayMs: SLOW_UNIT_MS });
    const put = api(cloud, '/vaults/default/objects/waiting.bin', {
      method: 'PUT',
      body: randomBytes(100_000),
    }).catch(() => {});
    await eventually(
      async () => ((await slicesOnDisk(dataDir)) >= 4 ? true : undefined),
      'slices on the four fast units',
    );
    const since = Date.now();
    cloud.child.kill('SIGTERM');
    await eventually(
      async () => (/SIGTERM: stopping/.test(cloud.output()) ? true : undefined),
      'the stop to begin',
    );

    // Act: Ctrl-C after a `kill`, as someone who stopped waiting would.
    const second = Date.now();
    cloud.child.kill('SIGINT');
    const exit = await exited(cloud, since);
    /** From the second signal to the exit, as the exit was seen (not after the PUT's end). */
    const afterSecond = since + exit.ms - second;
    report(t, exit);
    await put;

    // Assess
    assert.equal(exit.code, 130, exit.output.slice(-600));
    assert.ok(afterSecond < 1000, `exited ${afterSecond} ms after the second signal`);
    assert.match(exit.output, /SIGINT again: exiting at once/);
    assert.doesNotMatch(exit.output, /^stopped in /m, 'the graceful stop did not finish');
    await assertStartsAgain(dataDir);
  });
});

/**
 * Crash points on the local cloud: for each point of `DSN_WORK_CRASH_AT` (after the locks, in
 * the middle of the op, after the output is written but before the delete), a `dsn work run`
 * process owns an item and dies there by SIGKILL, holding a 2 s lease. Another `dsn work run`
 * waits out the lease, takes the item over with a higher fencing token and finishes it: the
 * item ends done exactly once (one `finished done` line across both processes' logs, one output
 * object under its deterministic key, rewritten in place when the dead worker had written it).
 *
 * The items are added straight to the work list, without the queue nudge, and the schedule is
 * stopped, so the Lambda worker never runs here: the dead worker is the first owner for sure.
 * A stale owner that resumes after the takeover (a paused process, not a killed one) is refused
 * by fencing; a killed process cannot resume, so that is tested in
 * test/unit/work/worker.test.ts ("its resumed completion is refused"), at each point.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CRASH_POINTS } from '../../bin/commands/work-crash.ts';
import { endpointEnvironment, type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import { runtime } from '../../shared/aws/runtime.ts';
import { wireWork } from '../../shared/aws/work/wire.ts';
import { addWork } from '../../shared/work/index.ts';
import { createVault, EPHEMERAL_PORTS, PROJECT_ROOT, tempDir } from '../helpers/local-cloud.ts';

const DSN = join(PROJECT_ROOT, 'bin', 'dsn.ts');
const LEASE_MS = 2000;
const BODY = Buffer.from('the only input\n');
const SHA = createHash('sha256').update(BODY).digest('hex');

interface Line {
  message?: string;
  id?: string;
  token?: number;
  owner?: string;
  outcome?: string;
}

interface Item {
  state: string;
  attempts: number;
  token: number;
  result?: { count: number; objects: Array<{ sha256: string }> };
}

/** The JSON log lines of a process's output. */
function logLines(text: string): Line[] {
  return text
    .split('\n')
    .filter((l) => l.includes('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l.slice(l.indexOf('{'))) as Line];
      } catch {
        return [];
      }
    });
}

describe('crash points of `dsn work run` on the local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let envFile: string;
  let list: ReturnType<typeof wireWork>;
  const lambdaLog: string[] = [];
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const item = async (id: string) => (await (await api(`/vaults/jobs/work/${id}`)).json()) as Item;
  const outputs = async () =>
    (
      (await (await api('/vaults/jobs/objects?prefix=out/')).json()) as {
        objects: Array<{ key: string; revision: string }>;
      }
    ).objects;
  const cli = (crashAt?: string) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>(
      (resolve) => {
        const args = ['work', 'run', 'jobs', '--until-idle', '--env-file', envFile];
        if (crashAt) args.push('--lease-ms', String(LEASE_MS));
        execFile(
          process.execPath,
          [DSN, ...args],
          {
            cwd: PROJECT_ROOT,
            env: {
              ...process.env,
              DSN_STAGE: 'test',
              ...(crashAt ? { DSN_WORK_CRASH_AT: crashAt } : {}),
            },
          },
          (err, stdout, stderr) => {
            const e = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
            resolve({
              code: e ? (e.code ?? null) : 0,
              signal: e?.signal ?? null,
              output: `${stdout}\n${stderr}`,
            });
          },
        );
      },
    );

  before(async () => {
    dir = await tempDir('dsn-work-crash');
    cloud = await startLocalCloud({
      serviceDir: PROJECT_ROOT,
      dataDir: dir.path,
      stage: 'test',
      ports: EPHEMERAL_PORTS,
      log: () => {},
      functionLog: (fn, line) => {
        if (fn.endsWith('worker')) lambdaLog.push(line);
      },
    });
    cloud.schedules.stop();
    await createVault(api, { name: 'jobs', writeThreshold: 5, segmentSize: 64 * 1024 });
    const res = await api('/vaults/jobs/objects/in/a.txt', { method: 'PUT', body: BODY });
    assert.equal(res.status, 201);
    const env = {
      ...cloud.functionEnvironment('worker'),
      ...endpointEnvironment(cloud.endpoints, cloud.service.region),
    };
    envFile = join(dir.path, 'worker.env');
    await writeFile(
      envFile,
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
    // The SDK reads the region and endpoints from the process's environment.
    Object.assign(process.env, cloud.env);
    list = wireWork(runtime('test', { ...env, DSN_STAGE: 'test' }));
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  for (const point of CRASH_POINTS) {
    test(`a worker killed at ${point} leaves the item done exactly once after the lease, taken over with a higher token`, async () => {
      // Arrange: an item no Lambda worker hears of.
      const output = `out/${point}.jsonl`;
      const added = await addWork({ ...list, nudge: undefined }, 'jobs', {
        op: 'digest',
        args: { prefix: 'in/', output },
      });
      const id = added.id;

      // Act: the first worker dies at the point.
      const dead = await cli(point);

      // Assert: it died by SIGKILL there, owning the item, which is still running under its token.
      assert.equal(dead.signal, 'SIGKILL', dead.output);
      const said = new RegExp(`crashing at ${point} \\(DSN_WORK_CRASH_AT\\) on ${id} token (\\d+)`);
      const deadToken = Number(said.exec(dead.output)?.[1]);
      assert.ok(deadToken >= 1, dead.output);
      const deadLines = logLines(dead.output).filter((l) => l.id === id);
      assert.deepEqual(
        deadLines.map((l) => [l.message, l.token]),
        [['work item owned', deadToken]],
      );
      const orphan = await item(id);
      assert.deepEqual([orphan.state, orphan.attempts, orphan.token], ['running', 1, deadToken]);
      const written = (await outputs()).filter((o) => o.key === output);
      assert.equal(written.length, point === 'before-delete' ? 1 : 0, JSON.stringify(written));

      // Act: another worker waits out the lease and takes the item over.
      const takeover = await cli();

      // Assert: done once, by the newer token, one output.
      assert.equal(takeover.code, 0, takeover.output);
      const lines = logLines(takeover.output).filter((l) => l.id === id);
      const owned = lines.filter((l) => l.message === 'work item owned');
      assert.equal(owned.length, 1, JSON.stringify(lines));
      const newToken = owned[0]?.token ?? 0;
      assert.ok(newToken > deadToken, `takeover token ${newToken} > ${deadToken}`);
      const finished = [...deadLines, ...lines].filter((l) => l.message === 'work item finished');
      assert.deepEqual(
        finished.map((l) => [l.outcome, l.token]),
        [['done', newToken]],
      );
      const done = await item(id);
      assert.deepEqual([done.state, done.attempts, done.token], ['done', 2, newToken]);
      assert.deepEqual(
        done.result?.objects.map((o) => o.sha256),
        [SHA],
      );
      const after = (await outputs()).filter((o) => o.key === output);
      assert.equal(after.length, 1, 'one output object under the item key');
      if (written[0])
        assert.notEqual(after[0]?.revision, written[0].revision, 'rewritten in place');
      const res = await api(`/vaults/jobs/objects/${output}`);
      assert.deepEqual(
        (await res.text())
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).sha256),
        [SHA],
      );
      const explain = (await (await api(`/vaults/jobs/work/${id}?explain`)).json()) as {
        units: Array<{ present: boolean }>;
      };
      assert.ok(
        explain.units.every((u) => !u.present),
        'every function slice deleted',
      );
      assert.ok(
        !lambdaLog.some((l) => l.includes('work item owned')),
        'the Lambda worker never ran',
      );
    });
  }
});

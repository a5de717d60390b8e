/**
 * Racing workers on the local cloud: two `dsn work run --workers 2` processes, started on ten
 * items no Lambda worker hears of, and the Lambda worker (nudged on every later add) take 60
 * items together. Every item ends done, each was
 * owned exactly once (the fencing tokens in the workers' logs say by whom), and the CLI's
 * workers took part. Then 8 workers in this process, each wired as the worker function is over
 * the local cloud's tables and buckets, with an op this test registers, take 60 items of
 * their own vault: the op counts its effects, so exactly once is counted, not inferred.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { endpointEnvironment, type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import {
  createVault,
  EPHEMERAL_PORTS,
  eventually,
  PROJECT_ROOT,
  tempDir,
} from '../helpers/local-cloud.ts';

const DSN = join(PROJECT_ROOT, 'bin', 'dsn.ts');
const ITEMS = 60;
/** Items added before the CLI workers start, which no Lambda worker hears of. */
const UNHEARD = 10;

interface Owned {
  id: string;
  token: number;
  owner: string;
}

/** `work item owned` lines of a log, whatever else the log holds. */
function ownedIn(lines: string[]): Owned[] {
  const owned: Owned[] = [];
  for (const line of lines) {
    if (!line.includes('work item owned')) continue;
    const json = JSON.parse(line.slice(line.indexOf('{'))) as Owned;
    owned.push({ id: json.id, token: json.token, owner: json.owner });
  }
  return owned;
}

describe('racing workers on the local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const workerLog: string[] = [];
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);

  before(async () => {
    dir = await tempDir('dsn-work-race');
    cloud = await startLocalCloud({
      serviceDir: PROJECT_ROOT,
      dataDir: dir.path,
      stage: 'test',
      ports: EPHEMERAL_PORTS,
      log: () => {},
      functionLog: (fn, line) => {
        if (fn.endsWith('worker')) workerLog.push(line);
      },
    });
    await createVault(api, { name: 'jobs', writeThreshold: 5, segmentSize: 64 * 1024 });
    const res = await api('/vaults/jobs/objects/race/in.txt', {
      method: 'PUT',
      body: 'one line\n',
    });
    assert.equal(res.status, 201);
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  /** This process wired as the worker function is, over the cloud's tables and buckets. */
  const inProcess = async () => {
    Object.assign(process.env, cloud.functionEnvironment('worker'), {
      ...endpointEnvironment(cloud.endpoints, cloud.service.region),
    });
    const { runtime } = await import('../../shared/aws/runtime.ts');
    const { wireWork, wireWorker } = await import('../../shared/aws/work/wire.ts');
    const { silentLogger } = await import('../../shared/log.ts');
    const rt = { ...runtime('work'), log: silentLogger };
    return { rt, list: wireWork(rt), wireWork, wireWorker };
  };

  test('Lambda and `dsn work run` workers take 60 items: each done, each owned exactly once', async () => {
    // Prepare: the worker function's own environment, for the CLI.
    const envFile = join(dir.path, 'worker.env');
    const env = {
      ...cloud.functionEnvironment('worker'),
      ...endpointEnvironment(cloud.endpoints, cloud.service.region),
    };
    await writeFile(
      envFile,
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
    const cliLogs: string[] = [];
    const cli = () =>
      new Promise<number>((resolve) => {
        execFile(
          process.execPath,
          [DSN, 'work', 'run', 'jobs', '--workers', '2', '--until-idle', '--env-file', envFile],
          { cwd: PROJECT_ROOT, env: { ...process.env, DSN_STAGE: 'test' } },
          (err, stdout, stderr) => {
            cliLogs.push(...stdout.split('\n'), ...stderr.split('\n'));
            resolve(err ? 1 : 0);
          },
        );
      });

    // The first items go straight to the work list, unheard of by the Lambda worker (no nudge,
    // no schedule), so that the CLI workers are surely running before it is: however fast the
    // Lambda worker gets, it cannot drain the list while the CLIs are still starting.
    cloud.schedules.stop();
    const { list } = await inProcess();
    const { addWork } = await import('../../shared/work/index.ts');
    const digest = (i: number) => ({
      op: 'digest',
      args: { prefix: 'race/', output: `out/${i}.jsonl` },
    });
    const ids: string[] = [];
    for (let i = 0; i < UNHEARD; i++)
      ids.push((await addWork({ ...list, nudge: undefined }, 'jobs', digest(i))).id);
    /** The rest through the API, each nudging the Lambda worker. */
    const add = async (i: number) => {
      const res = await api('/vaults/jobs/work', {
        method: 'POST',
        body: JSON.stringify(digest(i)),
      });
      assert.equal(res.status, 201);
      ids.push(((await res.json()) as { id: string }).id);
    };

    // Act: the CLI workers start and take one of the unheard-of items; then the rest arrive.
    const clis = [cli(), cli()];
    await eventually(
      async () => {
        const res = await api('/vaults/jobs/work?state=queued&limit=1000');
        const page = (await res.json()) as { items: unknown[] };
        return page.items.length < UNHEARD ? true : undefined;
      },
      'a CLI worker to take an item',
      60_000,
    );
    for (let i = UNHEARD; i < ITEMS; i++) await add(i);
    await eventually(
      async () => {
        const res = await api('/vaults/jobs/work?state=done&limit=1000');
        const page = (await res.json()) as { items: unknown[] };
        return page.items.length === ITEMS ? true : undefined;
      },
      'every item done',
      120_000,
    );
    const codes = await Promise.all(clis);

    // Assess
    assert.deepEqual(codes, [0, 0], cliLogs.filter((l) => l.startsWith('dsn:')).join('\n'));
    const owned = [...ownedIn(workerLog), ...ownedIn(cliLogs)];
    for (const id of ids) {
      const claims = owned.filter((o) => o.id === id);
      assert.equal(claims.length, 1, `${id} owned once: ${JSON.stringify(claims)}`);
      const item = (await (await api(`/vaults/jobs/work/${id}`)).json()) as { token: number };
      assert.equal(item.token, claims[0]?.token, "the record names the owner's token");
    }
    const byCli = owned.filter((o) => o.owner.startsWith('cli-')).length;
    const byLambda = owned.length - byCli;
    assert.ok(byCli > 0 && byLambda > 0, `cli ${byCli}, lambda ${byLambda}`);
    console.log(`# items owned: cli ${byCli}, lambda ${byLambda}`);
  });

  test("8 workers over the cloud's tables take 60 items of a test-registered op: each effect happens exactly once", async () => {
    // Prepare: this process wired as the worker function is; items added without the nudge
    // (the Lambda worker knows no `count` op), and its schedule stopped for the same reason.
    cloud.schedules.stop();
    const { rt, wireWork, wireWorker } = await inProcess();
    const { addWork, drainWork, getWork, OPEN_STATES } = await import('../../shared/work/index.ts');
    await createVault(api, { name: 'counted', writeThreshold: 5, segmentSize: 64 * 1024 });
    /** Runs of the op per item id: its effects, as the op itself counts them. */
    const effects = new Map<string, number>();
    const ops = wireWork(rt).ops.register('count', {
      args: z.strictObject({}),
      async run(ctx) {
        effects.set(ctx.id, (effects.get(ctx.id) ?? 0) + 1);
        // A real effect too: its output, at a key of its own item.
        const out = await ctx.objects.write(
          `counted/${ctx.id}`,
          (async function* () {
            yield Buffer.from(ctx.id);
          })(),
        );
        return { size: out.size };
      },
    });
    const list = { ...wireWork(rt), ops, nudge: undefined };
    const ids: string[] = [];
    for (let i = 0; i < ITEMS; i++) ids.push((await addWork(list, 'counted', { op: 'count' })).id);
    /** Lock-read-delete rounds owned, per item: token and worker. */
    const owned = new Map<string, Array<{ token: number; worker: number }>>();

    // Act: 8 workers that do not know each other (no slots), as Lambda workers.
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        const { deps } = wireWorker(rt, `counter-${w}`);
        deps.ops = ops;
        deps.hooks = {
          claimed: (item, token, won) => {
            if (won) owned.set(item.id, [...(owned.get(item.id) ?? []), { token, worker: w }]);
          },
        };
        for (;;) {
          if ((await drainWork(deps, 'counted')) > 0) continue;
          const open = await deps.store.list('counted', { states: OPEN_STATES, limit: 1 });
          if (open.items.length === 0) return;
          await rt.clock.sleep(20);
        }
      }),
    );

    // Assess
    for (const id of ids) {
      const record = await getWork(list, 'counted', id);
      assert.equal(record.state, 'done', id);
      assert.equal(effects.get(id), 1, `${id}: its effect happened once`);
      const claims = owned.get(id) ?? [];
      assert.equal(claims.length, 1, `${id} owned once: ${JSON.stringify(claims)}`);
      assert.equal(record.token, claims[0]?.token, "the record names the owner's token");
      const res = await api(`/vaults/counted/objects/counted/${id}`);
      assert.equal(await res.text(), id);
    }
    const workers = new Set([...owned.values()].flat().map((c) => c.worker));
    assert.ok(workers.size > 1, `the work was shared: ${[...workers].join(', ')}`);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { DsnClient, type RequestOptions } from '../../../bin/client.ts';
import { registerAdminCommands } from '../../../bin/commands/admin.ts';
import type { CommandContext, Session } from '../../../bin/commands/context.ts';
import { registerObjectCommands } from '../../../bin/commands/objects.ts';
import { registerRepairCommands } from '../../../bin/commands/repair.ts';
import { registerReplicationCommands } from '../../../bin/commands/replicate.ts';
import { registerUnitCommands } from '../../../bin/commands/units.ts';
import { registerVaultCommands } from '../../../bin/commands/vault.ts';
import { ApiError, CliError, type ErrorContext } from '../../../bin/errors.ts';
import { NO_PROGRESS } from '../../../bin/progress.ts';
import { DEFAULT_VAULT } from '../../../shared/store/vault.ts';

/**
 * The command groups on a program of their own, with a `run` that hands them a client which
 * records its calls and answers from `replies` (a function throws its error instead); the
 * replication and admin groups only when asked.
 */
function cli(replies: Record<string, unknown> = {}, withReplication = false, withAdmin = false) {
  const calls: Array<{ method: string; path: string; body?: unknown }> = [];
  const runs: Array<{ label: string; ctx: ErrorContext }> = [];
  const printed: Array<{ json: unknown; text: string }> = [];
  const exits: number[] = [];
  const answer = (method: string, path: string, body?: unknown) => {
    calls.push({ method, path, ...(body === undefined ? {} : { body }) });
    const reply = replies[`${method} ${path}`];
    if (typeof reply === 'function') throw reply();
    return reply;
  };
  class RecordingClient extends DsnClient {
    override async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
      return answer(method, path, opts.body) as T;
    }
    override async request(method: string, path: string): Promise<Response> {
      answer(method, path);
      return new Response(null, { status: 204 });
    }
  }
  const client = new RecordingClient('http://dsn.test');
  const context: CommandContext = {
    async run(_cmd, label, ctx, body) {
      runs.push({ label, ctx });
      const session: Session = {
        json: false,
        printed: false,
        client: () => client,
        print: (json, human) => printed.push({ json, text: human() }),
        bar: () => NO_PROGRESS,
        about: (names) => Object.assign(ctx, names),
        exitWith: (code) => exits.push(code),
      };
      await body(session);
    },
  };
  const program = new Command('dsn').exitOverride();
  registerVaultCommands(program, context);
  registerObjectCommands(program, context);
  registerRepairCommands(program, context);
  registerUnitCommands(program, context);
  if (withReplication) registerReplicationCommands(program, context);
  if (withAdmin) registerAdminCommands(program, context);
  const dsn = (...args: string[]) => program.parseAsync(args, { from: 'user' });
  return { program, dsn, calls, runs, printed, exits };
}

const apiNotFound = () => new ApiError(404, 'NotFound', 'Not Found');

test('the groups register the command tree in the order of dsn --help', () => {
  const { program } = cli();
  const names = (c: Command) => c.commands.map((sub) => sub.name());
  assert.deepEqual(names(program), [
    'vault',
    'put',
    'get',
    'ls',
    'rm',
    'explain',
    'rebuild',
    'unit',
    'chaos',
  ]);
  const group = (name: string) => program.commands.find((c) => c.name() === name) as Command;
  assert.deepEqual(names(group('vault')), ['create', 'ls', 'show']);
  assert.deepEqual(names(group('unit')), ['ls', 'down', 'up']);
});

test('vault create sends the default code unless told, and sizes and units parsed', async () => {
  const created = { ...DEFAULT_VAULT, name: 'photos', segmentSize: 65536, units: [0, 1, 2] };
  const { dsn, calls, runs, printed } = cli({ 'POST /vaults': created });
  await dsn('vault', 'create', 'photos', '--segment-size', '64KiB', '--units', '0,1,2');
  assert.deepEqual(runs, [{ label: 'vault create photos', ctx: { vault: 'photos' } }]);
  assert.deepEqual(calls[0]?.body, {
    name: 'photos',
    width: DEFAULT_VAULT.width,
    readThreshold: DEFAULT_VAULT.readThreshold,
    writeThreshold: DEFAULT_VAULT.writeThreshold,
    segmentSize: 65536,
    units: [0, 1, 2],
  });
  assert.match(printed[0]?.text ?? '', /^created vault photos: .*segments of 64\.0 KiB/);
});

test('rm names the vault and key for hints, and escapes the key but not its slashes', async () => {
  const { dsn, calls, runs, printed } = cli();
  await dsn('rm', 'photos/2024/a b.jpg');
  assert.deepEqual(calls, [{ method: 'DELETE', path: '/vaults/photos/objects/2024/a%20b.jpg' }]);
  assert.deepEqual(runs[0]?.ctx, { vault: 'photos', key: '2024/a b.jpg' });
  assert.equal(printed[0]?.text, 'removed photos/2024/a b.jpg');
});

test('a target without a key, or stdin without a key, is a usage error', async () => {
  await assert.rejects(cli().dsn('rm', 'photos'), {
    name: 'UsageError',
    message: 'expected VAULT/KEY, got "photos"',
  });
  await assert.rejects(cli().dsn('put', '-', 'photos/'), {
    name: 'UsageError',
    message: 'reading stdin needs a key: VAULT/KEY, got "photos/"',
  });
});

test('ls follows the cursor through every page', async () => {
  const object = (key: string) => ({ key, size: 5, revision: 'r1', sha256: 'x' });
  const { dsn, calls, printed } = cli({
    'GET /vaults/photos/objects?prefix=2024%2F&limit=1000': {
      objects: [object('2024/a')],
      cursor: 'c2',
    },
    'GET /vaults/photos/objects?prefix=2024%2F&limit=1000&cursor=c2': {
      objects: [object('2024/b')],
      cursor: null,
    },
  });
  await dsn('ls', 'photos/2024/');
  assert.equal(calls.length, 2);
  assert.equal(
    printed[0]?.text,
    'SIZE  REVISION  KEY\n   5  r1        2024/a\n   5  r1        2024/b',
  );
});

test('unit down --mode slow wants --delay-ms before it calls anything', async () => {
  const { dsn, calls } = cli();
  await assert.rejects(dsn('unit', 'down', '3', '--mode', 'slow'), {
    name: 'UsageError',
    message: '--mode slow needs --delay-ms N',
  });
  assert.deepEqual(calls, []);
});

test('a route the API lacks says which: admin routes are local only, explain is newer', async () => {
  await assert.rejects(cli({ 'GET /admin/faults': apiNotFound }).dsn('unit', 'ls'), {
    message: 'fault injection exists only on the local cloud',
    hint: 'http://dsn.test has no /admin/faults route (a deployment on AWS has none); start one with npm start',
  });
  await assert.rejects(
    cli({ 'GET /vaults/photos/objects/a.jpg?explain': apiNotFound }).dsn('explain', 'photos/a.jpg'),
    { message: 'http://dsn.test has no explain route' },
  );
});

test('explain reads every page of segments and reports the worst verdict of them all', async () => {
  // Prepare: two pages, the second with a degraded segment.
  const segment = (n: number, verdict: 'healthy' | 'degraded') => ({
    segment: n,
    good: verdict === 'healthy' ? 3 : 2,
    verdict,
    pillars: [],
  });
  const base = {
    vault: 'photos',
    key: 'a.jpg',
    revision: 'r1',
    size: 10,
    width: 3,
    readThreshold: 2,
    segmentCount: 3,
  };
  const { dsn, calls, printed, exits } = cli({
    'GET /vaults/photos/objects/a.jpg?explain': {
      ...base,
      verdict: 'healthy',
      minGood: 3,
      cursor: 2,
      segments: [segment(0, 'healthy'), segment(1, 'healthy')],
    },
    'GET /vaults/photos/objects/a.jpg?explain&cursor=2': {
      ...base,
      verdict: 'degraded',
      minGood: 2,
      cursor: null,
      segments: [segment(2, 'degraded')],
    },
  });

  // Act
  await dsn('explain', 'photos/a.jpg');

  // Assess
  assert.deepEqual(
    calls.map((c) => c.path),
    ['/vaults/photos/objects/a.jpg?explain', '/vaults/photos/objects/a.jpg?explain&cursor=2'],
  );
  const shown = printed[0]?.json as { verdict: string; minGood: number; segments: unknown[] };
  assert.equal(shown.verdict, 'degraded');
  assert.equal(shown.minGood, 2);
  assert.deepEqual(exits, [3], 'degraded exits 3, as fsck-style tools do');
  assert.equal(shown.segments.length, 3);
});

test('replicate --watch fails the command when the job ends unsucceeded, or stops moving, naming the restart', async () => {
  // Prepare: a job view as the API shows it, in the state given.
  const view = (state: string, error?: string) => ({
    id: 'r1',
    state,
    source: { vault: 'a', prefix: '' },
    destination: { bucket: 'b', prefix: '' },
    tasks: { total: 2, done: 1, failed: 0, pending: 1 },
    bytes: { total: 10, copied: 5 },
    workers: [{ worker: 0, load: 5, tasks: 1 }],
    migrations: 0,
    restarts: 0,
    ...(error ? { error } : {}),
  });
  const run = async (state: string, error?: string) => {
    const c = cli(
      { 'POST /replications': view('running'), 'GET /replications/r1': view(state, error) },
      true,
    );
    const out = c.dsn('replicate', 'a', 's3://b', '--watch');
    out.catch(() => {}); // asserted below, once every run started
    return { c, out };
  };

  // Act
  const succeeded = await run('succeeded');
  await succeeded.out;
  const failed = await run('failed', 'AccessDenied: no');
  const stalled = await run('running', 'the controller execution ended with the job unfinished');
  const unwatched = cli({ 'POST /replications': view('running') }, true);
  await unwatched.dsn('replicate', 'a', 's3://b');

  // Assess
  await assert.rejects(failed.out, (err: Error) => {
    assert.ok(err instanceof CliError);
    assert.match(err.message, /replication r1 ended failed: AccessDenied/);
    assert.match(err.hint ?? '', /dsn replication restart r1/);
    return true;
  });
  await assert.rejects(stalled.out, /replication r1 is not moving: the controller execution ended/);
  assert.match(stalled.c.printed[0]?.text ?? '', /restart it with: dsn replication restart r1/);
  assert.equal(unwatched.printed.length, 1);
});

test('an admin command recorded as failed at a unit exits 1 after printing its record; one that succeeded exits 0', async () => {
  // Prepare
  const record = (state: string) => ({
    id: 'c1',
    command: 'vault.freeze',
    args: { vault: 'clips' },
    by: 'root',
    at: '2026-12-06T00:00:00.000Z',
    state,
    operations: [
      { unit: 0, action: 'freeze', outcome: 'done' },
      { unit: 1, action: 'freeze', outcome: state === 'failed' ? 'failed' : 'done' },
    ],
  });
  for (const [state, wanted] of [
    ['failed', [1]],
    ['succeeded', []],
  ] as const) {
    const { dsn, printed, exits } = cli({ 'POST /admin/commands': record(state) }, false, true);

    // Act
    await dsn('admin', 'freeze', 'clips');

    // Assess
    assert.equal((printed[0]?.json as { state?: string } | undefined)?.state, state);
    assert.deepEqual(exits, wanted, state);
  }
});

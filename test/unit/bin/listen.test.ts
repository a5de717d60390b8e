import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { DsnClient, type RequestOptions } from '../../../bin/client.ts';
import type { CommandContext, Session } from '../../../bin/commands/context.ts';
import { listenTarget, registerListenCommands } from '../../../bin/commands/listen.ts';
import { UsageError } from '../../../bin/errors.ts';
import { NO_PROGRESS } from '../../../bin/progress.ts';

/** The listen group on a program of its own, with a client that records its calls. */
function cli(replies: Record<string, unknown> = {}) {
  const calls: Array<{ method: string; path: string; body?: unknown }> = [];
  const printed: string[] = [];
  class RecordingClient extends DsnClient {
    override async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
      calls.push({ method, path, ...(opts.body === undefined ? {} : { body: opts.body }) });
      return replies[`${method} ${path}`] as T;
    }
    override async request(method: string, path: string): Promise<Response> {
      calls.push({ method, path });
      return new Response(null, { status: 204 });
    }
  }
  const client = new RecordingClient('http://dsn.test');
  const context: CommandContext = {
    async run(_cmd, _label, ctx, body) {
      const session: Session = {
        json: false,
        printed: false,
        client: () => client,
        print: (_json, human) => printed.push(human()),
        bar: () => NO_PROGRESS,
        about: (names) => Object.assign(ctx, names),
        exitWith: () => {},
      };
      await body(session);
    },
  };
  const program = new Command('dsn').exitOverride();
  registerListenCommands(program, context);
  return {
    dsn: (...args: string[]) => program.parseAsync(args, { from: 'user' }),
    calls,
    printed,
  };
}

const made = {
  id: 'l1',
  path: '2026/',
  recursive: true,
  events: ['object.committed'],
  target: { type: 'webhook', url: 'https://h/x' },
  node: 2,
  createdAt: '2026-12-01T00:00:00.000Z',
};

test('listen targets: a vault alone or with a slash is the whole vault, else the path after it', () => {
  assert.deepEqual(listenTarget('photos'), { vault: 'photos', path: '' });
  assert.deepEqual(listenTarget('photos/'), { vault: 'photos', path: '' });
  assert.deepEqual(listenTarget('photos/2026/'), { vault: 'photos', path: '2026/' });
  assert.deepEqual(listenTarget('photos/a/b.jpg'), { vault: 'photos', path: 'a/b.jpg' });
  assert.throws(() => listenTarget('/x'), UsageError);
});

test('listen add posts the path, the one target named, and short event names in full', async () => {
  const { dsn, calls, printed } = cli({ 'POST /vaults/photos/listeners': made });
  await dsn(
    'listen',
    'add',
    'photos/2026/',
    '--webhook',
    'https://h/x',
    '--secret',
    'k',
    '--events',
    'committed',
  );
  assert.deepEqual(calls, [
    {
      method: 'POST',
      path: '/vaults/photos/listeners',
      body: {
        path: '2026/',
        target: { type: 'webhook', url: 'https://h/x', secret: 'k' },
        events: ['object.committed'],
      },
    },
  ]);
  assert.match(
    printed[0] ?? '',
    /^listener l1 on photos\/2026\/ \(recursive\): object\.committed -> webhook https:\/\/h\/x$/,
  );
});

test('listen add wants exactly one target, and --secret only with --webhook', async () => {
  await assert.rejects(cli().dsn('listen', 'add', 'photos'), /name one target/);
  await assert.rejects(
    cli().dsn('listen', 'add', 'photos', '--sqs', 'http://q/000000000000/q', '--lambda', 'f'),
    /name one target/,
  );
  await assert.rejects(
    cli().dsn('listen', 'add', 'photos', '--sqs', 'http://q/000000000000/q', '--secret', 's'),
    /--secret signs webhooks only/,
  );
});

test('listen ls lists each listener; listen rm deletes by id', async () => {
  const { dsn, calls, printed } = cli({ 'GET /vaults/photos/listeners': { listeners: [made] } });
  await dsn('listen', 'ls', 'photos');
  await dsn('listen', 'rm', 'photos', 'l1');
  assert.deepEqual(
    calls.map((c) => `${c.method} ${c.path}`),
    ['GET /vaults/photos/listeners', 'DELETE /vaults/photos/listeners/l1'],
  );
  assert.match(
    printed[0] ?? '',
    /l1\s+2026\/ \(recursive\)\s+2\s+committed\s+webhook https:\/\/h\/x/,
  );
  assert.equal(printed[1], 'removed listener l1');
});

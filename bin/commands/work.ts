/**
 * `dsn work add|ls|show|wait|run`: a vault's work list over the HTTP API, and `run`, which runs
 * workers on this machine that compete with the Lambda workers under the same lock-read-delete
 * protocol. `run` talks to the deployment's table and buckets directly, so it needs the worker
 * function's environment (DSN_* variables and AWS credentials, or `--env-file`).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseEnv } from 'node:util';
import { type Command, Option } from 'commander';
import { type PublicWorkItem, WORK_STATES } from '../../shared/work/work-item.ts';
import type { explainWork } from '../../shared/work/work-list.ts';
import { vaultPath } from '../client.ts';
import { CliError, UsageError } from '../errors.ts';
import { columns } from '../format.ts';
import { integer } from './arguments.ts';
import type { CommandContext } from './context.ts';

const POLL_MS = 250;
const TERMINAL = ['done', 'failed', 'cancelled'];

/** The wire shapes of an item and of its explanation, from the code that writes them. */
type Item = PublicWorkItem;
type Explanation = Awaited<ReturnType<typeof explainWork>>;

/** `k=v` is a string; `k:=JSON` a JSON value (`maxSize:=1000`), as httpie reads them. */
export function parseArgPairs(pairs: string[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const pair of pairs) {
    const json = /^([^=:]+):=(.*)$/s.exec(pair);
    const text = /^([^=:]+)=(.*)$/s.exec(pair);
    if (json) {
      try {
        args[json[1] as string] = JSON.parse(json[2] as string);
      } catch {
        throw new UsageError(`--arg ${pair}: the value after := must be JSON`);
      }
    } else if (text) args[text[1] as string] = text[2];
    else throw new UsageError(`--arg ${pair}: expected KEY=VALUE or KEY:=JSON`);
  }
  return args;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function itemLine(i: Item): string[] {
  return [String(i.seq), i.id, i.op, i.state, `${i.attempts}`, i.reason ?? i.error ?? ''];
}

function itemText(i: Item): string {
  const lines = [
    `${i.id} (seq ${i.seq}): ${i.op} ${JSON.stringify(i.args)}: ${i.state}, ${i.attempts} attempt(s), token ${i.token}`,
  ];
  if (i.after.length > 0) lines.push(`  after ${i.after.join(', ')}`);
  if (i.owner) lines.push(`  owner ${i.owner}`);
  if (i.reason) lines.push(`  waiting: ${i.reason}`);
  if (i.error) lines.push(`  error: ${i.error}`);
  if (i.result !== undefined) lines.push(`  result: ${JSON.stringify(i.result)}`);
  return lines.join('\n');
}

export function registerWorkCommands(program: Command, { run }: CommandContext): void {
  const work = program.command('work').description("a vault's ordered work items (seed 001)");
  const path = (v: string) => `${vaultPath(v)}/work`;

  work
    .command('add <vault> <op>')
    .description('add an item: digest, compress, decompress, grep or concat')
    .option('--arg <k=v>', 'an arg of the op (KEY=VALUE, or KEY:=JSON); repeatable', collect, [])
    .option('--after <id>', 'run only after this item is done; repeatable', collect, [])
    .action(async (v: string, op: string, o: { arg: string[]; after: string[] }, cmd: Command) =>
      run(cmd, `work add ${v} ${op}`, { vault: v }, async (s) => {
        const body = { op, args: parseArgPairs(o.arg), after: o.after };
        const item = await s.client().json<Item>('POST', path(v), { body });
        s.print(item, () => itemText(item));
      }),
    );

  work
    .command('ls <vault>')
    .description('the work list, in order')
    .addOption(new Option('--state <state>', 'only items in this state').choices(WORK_STATES))
    .action(async (v: string, o: { state?: string }, cmd: Command) =>
      run(cmd, `work ls ${v}`, { vault: v }, async (s) => {
        const client = s.client();
        const items: Item[] = [];
        let cursor: string | null = null;
        do {
          const q = new URLSearchParams({ limit: '1000' });
          if (o.state) q.set('state', o.state);
          if (cursor) q.set('cursor', cursor);
          const page: { items: Item[]; cursor: string | null } = await client.json(
            'GET',
            `${path(v)}?${q}`,
          );
          items.push(...page.items);
          cursor = page.cursor;
        } while (cursor);
        s.print({ items }, () =>
          columns([['seq', 'id', 'op', 'state', 'attempts', 'note'], ...items.map(itemLine)]),
        );
      }),
    );

  work
    .command('show <vault> <id>')
    .description('one item; --explain shows each unit: slice, lock, owner, token, lease')
    .option('--explain', 'per unit: slice present, locked, owner, token, lease expiry')
    .action(async (v: string, id: string, o: { explain?: boolean }, cmd: Command) =>
      run(cmd, `work show ${v} ${id}`, { vault: v }, async (s) => {
        const client = s.client();
        const at = `${path(v)}/${encodeURIComponent(id)}`;
        if (o.explain) {
          const e = await client.json<Explanation>('GET', `${at}?explain`);
          s.print(e, () =>
            [
              `${id}: ${e.state}, ownership threshold ${e.threshold}`,
              columns([
                ['unit', 'slice', 'locked', 'owner', 'token', 'lease until'],
                ...e.units.map((u) => [
                  String(u.unit),
                  u.present ? 'present' : 'gone',
                  u.locked ? 'yes' : 'no',
                  u.owner ?? '',
                  u.token === undefined ? '' : String(u.token),
                  u.leaseUntil === undefined ? '' : new Date(u.leaseUntil).toISOString(),
                ]),
              ]),
            ].join('\n'),
          );
          return;
        }
        const item = await client.json<Item>('GET', at);
        s.print(item, () => itemText(item));
      }),
    );

  work
    .command('wait <vault> <ids...>')
    .description('wait until every item is done, failed or cancelled; exit 1 unless all are done')
    .action(async (v: string, ids: string[], _o: unknown, cmd: Command) =>
      run(cmd, `work wait ${v}`, { vault: v }, async (s) => {
        const client = s.client();
        const items: Item[] = [];
        for (const id of ids) {
          for (;;) {
            const item = await client.json<Item>('GET', `${path(v)}/${encodeURIComponent(id)}`);
            if (TERMINAL.includes(item.state)) {
              items.push(item);
              break;
            }
            await sleep(POLL_MS);
          }
        }
        s.print({ items }, () => items.map(itemText).join('\n'));
        const bad = items.filter((i) => i.state !== 'done');
        if (bad.length > 0)
          throw new CliError(
            `${bad.length} item(s) did not finish done: ${bad.map((i) => `${i.id} ${i.state}`).join(', ')}`,
          );
      }),
    );

  work
    .command('run <vault>')
    .description('run workers here, competing with the Lambda workers for the same items')
    .addOption(
      new Option('--workers <n>', 'workers in this process').argParser(integer(1, 64)).default(1),
    )
    .option('--env-file <file>', "the worker function's environment (DSN_* variables, endpoints)")
    .option('--until-idle', 'stop once no open item is left (default: run until interrupted)')
    .addOption(
      new Option(
        '--lease-ms <ms>',
        "each owner's lease, renewed while its op runs (default: the Lambda worker's, 60 s)",
      ).argParser(integer(1000, 3_600_000)),
    )
    .action(
      async (
        v: string,
        o: { workers: number; envFile?: string; untilIdle?: boolean; leaseMs?: number },
        cmd: Command,
      ) =>
        run(cmd, `work run ${v}`, { vault: v }, async (s) => {
          const env = { ...process.env };
          if (o.envFile) Object.assign(env, parseEnv(readFileSync(o.envFile, 'utf8')));
          for (const [k, val] of Object.entries(env))
            if (k.startsWith('AWS_') && val !== undefined) process.env[k] = val;
          // Loaded here only: the SDK and the store are not every command's start-up cost.
          const { runLocalWorkers } = await import('./work-runner.ts');
          const ran = await runLocalWorkers(env, v, o.workers, o.untilIdle === true, {
            leaseMs: o.leaseMs,
          });
          s.print({ ran }, () => `${ran} item(s) run by ${o.workers} worker(s) here`);
        }),
    );
}

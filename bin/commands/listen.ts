/**
 * `dsn listen add|ls|rm`: listeners on a vault's path tree, each delivering the events of a
 * key, a directory or the whole vault to an SQS queue, a webhook or a Lambda function.
 */
import type { Command } from 'commander';
import { EVENT_TYPES } from '../../shared/listeners/event-types.ts';
import type { publicListener } from '../../shared/listeners/listener.ts';
import { vaultPath } from '../client.ts';
import { UsageError } from '../errors.ts';
import { columns } from '../format.ts';
import type { CommandContext } from './context.ts';

/** The wire shape of a listener, from the code that writes it. */
type Listener = ReturnType<typeof publicListener>;

/** `VAULT`, `VAULT/` (the whole vault), `VAULT/dir/` or `VAULT/key`. @throws UsageError */
export function listenTarget(text: string): { vault: string; path: string } {
  const slash = text.indexOf('/');
  const vault = slash < 0 ? text : text.slice(0, slash);
  if (vault === '') throw new UsageError(`expected VAULT[/PATH], got "${text}"`);
  return { vault, path: slash < 0 ? '' : text.slice(slash + 1) };
}

interface AddOptions {
  sqs?: string;
  webhook?: string;
  secret?: string;
  lambda?: string;
  events?: string;
}

/** The target the options name: exactly one of --sqs, --webhook, --lambda. @throws UsageError */
function targetOf(o: AddOptions): Record<string, string> {
  const given = [o.sqs, o.webhook, o.lambda].filter((v) => v !== undefined).length;
  if (given !== 1)
    throw new UsageError('name one target: --sqs URL, --webhook URL or --lambda NAME');
  if (o.secret !== undefined && o.webhook === undefined)
    throw new UsageError('--secret signs webhooks only; add --webhook URL');
  if (o.sqs !== undefined) return { type: 'sqs', queueUrl: o.sqs };
  if (o.lambda !== undefined) return { type: 'lambda', functionName: o.lambda };
  return {
    type: 'webhook',
    url: o.webhook as string,
    ...(o.secret === undefined ? {} : { secret: o.secret }),
  };
}

/** `--events committed,deleted` or the full names. */
function eventsOf(text: string): string[] {
  return text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map((e) => (e.startsWith('object.') ? e : `object.${e}`));
}

function targetText(t: Listener['target']): string {
  if (t.type === 'sqs') return `sqs ${t.queueUrl}`;
  if (t.type === 'webhook') return `webhook ${t.url}`;
  return `lambda ${t.functionName}`;
}

export function registerListenCommands(program: Command, { run }: CommandContext): void {
  const listen = program
    .command('listen')
    .description('listeners: events of a key, a directory or a whole vault, delivered');
  listen
    .command('add <target>')
    .description(
      'listen on VAULT/KEY, VAULT/DIR/ (recursive) or VAULT (everything): --sqs, --webhook or --lambda',
    )
    .option('--sqs <url>', 'send each event to this SQS queue')
    .option('--webhook <url>', 'POST each event to this http(s) URL')
    .option('--secret <secret>', 'sign webhook bodies: x-dsn-signature: sha256=<HMAC>')
    .option('--lambda <name>', 'invoke this function asynchronously with each event')
    .option(
      '--events <list>',
      `comma-separated, of ${EVENT_TYPES.join(', ')} (default: all but object.quarantined)`,
    )
    .action(async (text: string, o: AddOptions, cmd: Command) =>
      run(cmd, `listen add ${text}`, {}, async (s) => {
        const { vault, path } = listenTarget(text);
        s.about({ vault });
        const body = {
          path,
          target: targetOf(o),
          ...(o.events === undefined ? {} : { events: eventsOf(o.events) }),
        };
        const made = await s
          .client()
          .json<Listener>('POST', `${vaultPath(vault)}/listeners`, { body });
        s.print(
          made,
          () =>
            `listener ${made.id} on ${vault}/${made.path}${made.recursive ? ' (recursive)' : ''}: ${made.events.join(', ')} -> ${targetText(made.target)}`,
        );
      }),
    );
  listen
    .command('ls <vault>')
    .description("VAULT's listeners: id, path, events and target")
    .action(async (vault: string, _o, cmd: Command) =>
      run(cmd, `listen ls ${vault}`, { vault }, async (s) => {
        const answer = await s
          .client()
          .json<{ listeners: Listener[] }>('GET', `${vaultPath(vault)}/listeners`);
        s.print(answer, () =>
          answer.listeners.length === 0
            ? `no listeners on ${vault}`
            : columns([
                ['ID', 'PATH', 'NODE', 'EVENTS', 'TARGET'],
                ...answer.listeners.map((l) => [
                  l.id,
                  `${l.path === '' ? '(vault)' : l.path}${l.recursive ? ' (recursive)' : ''}`,
                  String(l.node),
                  l.events.map((e) => e.replace(/^object\./, '')).join(','),
                  targetText(l.target),
                ]),
              ]),
        );
      }),
    );
  listen
    .command('rm <vault> <id>')
    .description('remove a listener: no event reaches it afterwards')
    .action(async (vault: string, id: string, _o, cmd: Command) =>
      run(cmd, `listen rm ${vault} ${id}`, { vault }, async (s) => {
        await s
          .client()
          .request('DELETE', `${vaultPath(vault)}/listeners/${encodeURIComponent(id)}`);
        s.print({ removed: id }, () => `removed listener ${id}`);
      }),
    );
}

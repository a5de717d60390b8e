/**
 * `dsn key create|ls|disable|rotate`: access keys, by an admin key. And `dsn share VAULT/KEY
 * --expires 1h`: a presigned GET URL anyone can open until it expires, signed locally with the
 * key the CLI uses (no call to the API).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { presignUrl } from '../../shared/access/signer.ts';
import { objectPath } from '../client.ts';
import { UsageError } from '../errors.ts';
import { columns } from '../format.ts';
import { target } from './arguments.ts';
import type { CommandContext } from './context.ts';

const ACTIONS = ['read', 'list', 'write', 'delete', 'admin'];

interface IssuedKey {
  accessKeyId: string;
  secretAccessKey: string;
  policy: Array<{ vaults: string[]; prefix?: string; actions: string[] }>;
  protected: boolean;
}

interface KeySummary {
  accessKeyId: string;
  policy: IssuedKey['policy'];
  protected: boolean;
  state: string;
  createdAt: string;
}

/** `1h`, `30m`, `90s`, `7d` as seconds. */
export function duration(value: string): number {
  const m = /^(\d+)\s*(s|m|h|d)$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a duration like 90s, 30m, 1h or 7d');
  const scale = { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] as string).toLowerCase() as 's'];
  const seconds = Number(m[1]) * scale;
  if (seconds < 1 || seconds > 7 * 86_400)
    throw new InvalidArgumentError('must be from 1s to 7d (a presigned URL lives 7 days at most)');
  return seconds;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function issuedLines(k: IssuedKey): string {
  return [
    `accessKeyId      ${k.accessKeyId}`,
    `secretAccessKey  ${k.secretAccessKey}`,
    `policy           ${JSON.stringify(k.policy)}${k.protected ? ' (protected)' : ''}`,
    'The secret is shown only now. Use it with:',
    `  export DSN_ACCESS_KEY_ID=${k.accessKeyId} DSN_SECRET_ACCESS_KEY=${k.secretAccessKey}`,
  ].join('\n');
}

export function registerKeyCommands(program: Command, { run }: CommandContext): void {
  const key = program.command('key').description('access keys (an admin key manages them)');
  key
    .command('create')
    .description('issue a key: its secret is printed once')
    .option('--vaults <names>', 'vaults it may touch, comma-separated, or *', list, ['*'])
    .option('--prefix <prefix>', 'only keys under this prefix')
    .addOption(
      new Option('--actions <list>', `comma-separated: ${ACTIONS.join(', ')}`)
        .argParser(list)
        .default(['read', 'list']),
    )
    .option('--policy <json>', 'the whole policy as JSON, instead of the three options above')
    .option('--protected', 'its sessions are protected (an attested, scanning client)')
    .action(async (o, cmd: Command) =>
      run(cmd, 'key create', {}, async (s) => {
        let policy: unknown;
        if (o.policy !== undefined) {
          try {
            policy = JSON.parse(o.policy);
          } catch {
            throw new UsageError('--policy must be JSON: [{"vaults":["*"],"actions":["read"]}]');
          }
        } else {
          policy = [
            {
              vaults: o.vaults,
              ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
              actions: o.actions,
            },
          ];
        }
        const issued = await s.client().json<IssuedKey>('POST', '/admin/keys', {
          body: { policy, ...(o.protected ? { protected: true } : {}) },
        });
        s.print(issued, () => issuedLines(issued));
      }),
    );
  key
    .command('ls')
    .description('list the keys (not the root key, nor sessions)')
    .action(async (_o, cmd: Command) =>
      run(cmd, 'key ls', {}, async (s) => {
        const { keys } = await s.client().json<{ keys: KeySummary[] }>('GET', '/admin/keys');
        s.print({ keys }, () =>
          keys.length === 0
            ? 'no keys (the root key lives in credentials.json or Secrets Manager)'
            : columns(
                keys.map((k) => [
                  k.accessKeyId,
                  k.state,
                  k.protected ? 'protected' : '',
                  k.createdAt,
                  JSON.stringify(k.policy),
                ]),
              ),
        );
      }),
    );
  key
    .command('disable <id>')
    .description('disable a key: it and its sessions stop working at once')
    .action(async (id: string, _o, cmd: Command) =>
      run(cmd, `key disable ${id}`, {}, async (s) => {
        const k = await s
          .client()
          .json<KeySummary>('DELETE', `/admin/keys/${encodeURIComponent(id)}`);
        s.print(k, () => `disabled ${k.accessKeyId}`);
      }),
    );
  key
    .command('rotate <id>')
    .description('issue a new key with the same policy, and disable the old one')
    .action(async (id: string, _o, cmd: Command) =>
      run(cmd, `key rotate ${id}`, {}, async (s) => {
        const issued = await s
          .client()
          .json<IssuedKey>('POST', `/admin/keys/${encodeURIComponent(id)}/rotate`);
        s.print(issued, () => `${id} is disabled; its replacement:\n${issuedLines(issued)}`);
      }),
    );

  program
    .command('share <vault/key>')
    .description('print a presigned URL that GETs an object until it expires')
    .requiredOption('--expires <duration>', 'how long the link works: 90s, 30m, 1h, 7d', duration)
    .action(async (text: string, o, cmd: Command) =>
      run(cmd, `share ${text}`, {}, async (s) => {
        const { vault, key: name } = s.about(target(text));
        const client = s.client();
        if (!client.signing)
          throw new UsageError(
            'no credentials to sign with: set DSN_ACCESS_KEY_ID and DSN_SECRET_ACCESS_KEY, or run where npm start keeps .dsn/credentials.json',
          );
        const url = await presignUrl(
          new URL(`${client.endpoint}${objectPath(vault, name)}`),
          'GET',
          client.signing.credentials,
          client.signing.region,
          o.expires,
        );
        const expires = new Date(Date.now() + o.expires * 1000).toISOString();
        s.print({ url: url.toString(), expires }, () => url.toString());
      }),
    );
}

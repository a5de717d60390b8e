/**
 * `dsn admin ...`: how an operator runs the network, through the one control path only.
 *
 *   dsn admin roles                                the leased roles: holders, tokens, expiry
 *   dsn admin command NAME [--arg k=v ...]         any admin command (POST /admin/commands)
 *   dsn admin freeze VAULT [--reason TEXT]         vault.freeze: writes refused, reads go on
 *   dsn admin unfreeze VAULT                       vault.unfreeze
 *   dsn admin release ROLE [--token N]             role.release
 *   dsn admin commands [ID]                        the audit log, or one command's record
 */
import { type Command, InvalidArgumentError } from 'commander';
import { columns } from '../format.ts';
import type { CommandContext } from './context.ts';

interface Operation {
  unit: number | null;
  action: string;
  outcome: string;
  detail?: string;
}

interface CommandRecord {
  id: string;
  command: string;
  args: Record<string, unknown>;
  by: string;
  at: string;
  state: string;
  operations: Operation[];
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

interface Role {
  role: string;
  holder: string | null;
  token: number;
  expiresAt: string | null;
  held: boolean;
}

/** `k=v` into `args`; a value of plain decimal digits is a number, as the commands take it. */
export function collectArg(value: string, args: Record<string, unknown>): Record<string, unknown> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('must be key=value, e.g. --arg vault=photos');
  const key = value.slice(0, at);
  const raw = value.slice(at + 1);
  return { ...args, [key]: /^(0|[1-9][0-9]{0,14})$/.test(raw) ? Number(raw) : raw };
}

export function recordText(r: CommandRecord): string {
  const lines = [
    `${r.command} ${JSON.stringify(r.args)}: ${r.state} (command ${r.id}, by ${r.by} at ${r.at})`,
    ...r.operations.map(
      (o) =>
        `  ${o.unit === null ? 'network' : `unit ${o.unit}`}: ${o.action} ${o.outcome}${o.detail ? ` (${o.detail})` : ''}`,
    ),
  ];
  if (r.error) lines.push(`  error ${r.error.code}: ${r.error.message}`);
  return lines.join('\n');
}

export function registerAdminCommands(program: Command, { run }: CommandContext): void {
  const admin = program
    .command('admin')
    .description('run the network: admin commands, their audit log, leased roles');

  const send = (cmd: Command, label: string, name: string, args: Record<string, unknown>) =>
    run(cmd, label, {}, async (s) => {
      const record = await s
        .client()
        .json<CommandRecord>('POST', '/admin/commands', { body: { command: name, args } });
      s.print(record, () => recordText(record));
      // Recorded, but not done at every unit: a script must not take the vault as frozen.
      if (record.state !== 'succeeded') s.exitWith(1);
    });

  admin
    .command('roles')
    .description('the leased management roles: holder, fencing token, expiry')
    .action(async (_o, cmd: Command) =>
      run(cmd, 'admin roles', {}, async (s) => {
        const { roles } = await s.client().json<{ roles: Role[] }>('GET', '/admin/roles');
        s.print({ roles }, () =>
          columns(
            roles.map((r) => [
              r.role,
              r.held ? 'held' : 'free',
              r.holder ?? '-',
              `token ${r.token}`,
              r.expiresAt ?? '-',
            ]),
          ),
        );
      }),
    );
  admin
    .command('command <name>')
    .description(
      'send any admin command: unit.replace, unit.drain, vault.restripe, vault.freeze, vault.unfreeze, role.release',
    )
    .option('--arg <key=value>', 'an argument (repeatable); digits are numbers', collectArg, {})
    .action(async (name: string, o: { arg: Record<string, unknown> }, cmd: Command) =>
      send(cmd, `admin command ${name}`, name, o.arg),
    );
  admin
    .command('freeze <vault>')
    .description('vault.freeze: the vault refuses writes, reads go on')
    .option('--reason <text>', 'why, for the audit log')
    .action(async (vault: string, o: { reason?: string }, cmd: Command) =>
      send(cmd, 'admin freeze', 'vault.freeze', {
        vault,
        ...(o.reason === undefined ? {} : { reason: o.reason }),
      }),
    );
  admin
    .command('unfreeze <vault>')
    .description('vault.unfreeze: the vault takes writes again')
    .action(async (vault: string, _o, cmd: Command) =>
      send(cmd, 'admin unfreeze', 'vault.unfreeze', { vault }),
    );
  admin
    .command('release <role>')
    .description(
      "role.release: free a leased role now (its holder's writes are refused from then on)",
    )
    .option('--token <n>', 'only if this token holds it', (v) => collectArg(`token=${v}`, {}).token)
    .action(async (role: string, o: { token?: number }, cmd: Command) =>
      send(cmd, 'admin release', 'role.release', {
        role,
        ...(o.token === undefined ? {} : { token: o.token }),
      }),
    );
  admin
    .command('commands [id]')
    .description('the audit log of admin commands, newest first, or one command')
    .option('--limit <n>', 'at most this many', '20')
    .action(async (id: string | undefined, o: { limit: string }, cmd: Command) =>
      run(cmd, 'admin commands', {}, async (s) => {
        if (id !== undefined) {
          const record = await s
            .client()
            .json<CommandRecord>('GET', `/admin/commands/${encodeURIComponent(id)}`);
          s.print(record, () => recordText(record));
          return;
        }
        const page = await s
          .client()
          .json<{ commands: CommandRecord[]; cursor?: string }>(
            'GET',
            `/admin/commands?limit=${encodeURIComponent(o.limit)}`,
          );
        s.print(page, () =>
          page.commands.length === 0
            ? 'no admin commands yet'
            : columns(
                page.commands.map((r) => [
                  r.id,
                  r.at,
                  r.by,
                  r.command,
                  JSON.stringify(r.args),
                  r.state,
                ]),
              ),
        );
      }),
    );
}

/**
 * `dsn watch VAULT[/PATH]`: a live stream of a vault's events in the terminal. It makes a
 * temporary queue and a temporary listener delivering to it, prints one line per event (JSON
 * lines with `--json`), and removes both on Ctrl-C or SIGTERM. What a killed watch leaves behind
 * expires: the listener lives `WATCH_TTL_SECONDS` unless the watch renews it, and the janitor's
 * sweep removes expired ones with their `dsn-watch-*` queues.
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { Command } from 'commander';
import { EVENT_TYPES } from '../../shared/listeners/event-types.ts';
import type { CommandContext } from './context.ts';
import { listenTarget } from './listen.ts';

export function registerWatchCommand(program: Command, { run }: CommandContext): void {
  program
    .command('watch <target>')
    .description(
      "stream VAULT[/PATH]'s events, one line each (JSON lines with --json), until Ctrl-C; makes a temporary queue and listener, and removes both",
    )
    .option('--events <list>', `comma-separated, of ${EVENT_TYPES.join(', ')} (default: all)`)
    .option(
      '--env-file <file>',
      'AWS endpoints and credentials for the temporary queue (default: the environment)',
    )
    .action(async (text: string, o: { events?: string; envFile?: string }, cmd: Command) =>
      run(cmd, `watch ${text}`, {}, async (s) => {
        const { vault, path } = listenTarget(text);
        s.about({ vault });
        const env = { ...process.env };
        if (o.envFile) Object.assign(env, parseEnv(readFileSync(o.envFile, 'utf8')));
        for (const [k, val] of Object.entries(env))
          if (k.startsWith('AWS_') && val !== undefined) process.env[k] = val;
        // Loaded here only: the SDK is not every command's start-up cost.
        const { runWatch } = await import('./watch-runner.ts');
        await runWatch({
          client: s.client(),
          vault,
          path,
          json: s.json,
          events: o.events
            ?.split(',')
            .map((e) => e.trim())
            .filter((e) => e !== '')
            .map((e) => (e.startsWith('object.') ? e : `object.${e}`)),
          out: (line) => process.stdout.write(`${line}\n`),
          note: (line) => process.stderr.write(`dsn watch: ${line}\n`),
        });
      }),
    );
}

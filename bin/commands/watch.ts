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
import { findCredentials } from '../credentials.ts';
import { UsageError } from '../errors.ts';
import type { CommandContext } from './context.ts';
import { listenTarget } from './listen.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Why a watch on `endpoint` cannot make its queue with `env`, if it cannot: an API on this
 * machine (the local cloud) with no SQS endpoint named would make the queue on AWS, where the
 * local cloud's nodes cannot deliver to it.
 */
export function watchEnvironmentProblem(
  endpoint: string,
  env: Record<string, string | undefined>,
): string | undefined {
  if (env.AWS_ENDPOINT_URL_SQS || env.AWS_ENDPOINT_URL) return undefined;
  if (!LOOPBACK.has(new URL(endpoint).hostname)) return undefined;
  return 'the API is the local cloud but no SQS endpoint is set: export the AWS_* lines `npm start` prints (or pass --env-file)';
}

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
        const client = s.client();
        const credentials = findCredentials();
        const problem = watchEnvironmentProblem(client.endpoint, env);
        if (problem) throw new UsageError(problem);
        for (const [k, val] of Object.entries(env))
          if (k.startsWith('AWS_') && val !== undefined) process.env[k] = val;
        // Loaded here only: the SDK is not every command's start-up cost.
        const { runWatch } = await import('./watch-runner.ts');
        try {
          await runWatch({
            client,
            ...(credentials ? { accessKeyId: credentials.accessKeyId } : {}),
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
        } finally {
          // Its listener and queue are gone (or, on an error, left to expire): end now, whatever
          // socket an aborted long poll or a keep-alive agent still holds open (one kept a
          // stopped watch alive past 20 s in CI). After the error, if any, is reported: stdout
          // and stderr are synchronous on Linux, so nothing written is lost.
          setImmediate(() => process.exit(process.exitCode ?? 0));
        }
      }),
    );
}

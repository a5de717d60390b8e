#!/usr/bin/env node
/**
 * `dsn`: the command line of the dispersed storage network. It talks to the HTTP API (the
 * local cloud by default, `--endpoint` or DSN_ENDPOINT for another), prints human output on
 * stdout or one JSON document with `--json`, draws progress bars on a terminal only, and
 * reports a failure as one line on stderr with a non-zero exit code (2 for usage errors).
 *
 *   dsn vault create|ls|show       dsn put FILE VAULT/KEY        dsn get VAULT/KEY [FILE|-]
 *   dsn ls VAULT[/PREFIX]          dsn rm VAULT/KEY              dsn explain VAULT/KEY
 *   dsn dispersal ls|cancel VAULT  (your client-side dispersals still pending)
 *   dsn rebuild VAULT [--watch]    dsn unit ls|down|up           dsn chaos --slices N
 *   dsn work add|ls|show|wait|run  dsn listen add|ls|rm          dsn watch VAULT[/PATH]
 *   dsn key create|ls|disable|rotate               dsn share VAULT/KEY --expires 1h
 *   dsn replicate SRC DST [--delete] [--watch]    dsn replication ls|show|restart|cancel
 *   dsn admin roles|command|freeze|unfreeze|release|commands
 *
 * The commands live in bin/commands/, one module per group; this file holds the global
 * options and turns every failure into its line and exit code.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './commands/admin.ts';
import {
  type CommandContext,
  createSession,
  DEFAULT_ENDPOINT,
  globalsOf,
  type Run,
} from './commands/context.ts';
import { registerDispersalCommands } from './commands/dispersal.ts';
import { registerKeyCommands } from './commands/key.ts';
import { registerListenCommands } from './commands/listen.ts';
import { registerObjectCommands } from './commands/objects.ts';
import { registerRepairCommands } from './commands/repair.ts';
import { registerReplicationCommands } from './commands/replicate.ts';
import { registerUnitCommands } from './commands/units.ts';
import { registerVaultCommands } from './commands/vault.ts';
import { registerWatchCommand } from './commands/watch.ts';
import { registerWorkCommands } from './commands/work.ts';
import { ApiError, CliError, describeError } from './errors.ts';
import { interruptedMessage, undoAll } from './interrupt.ts';
import { stopAllBars } from './progress.ts';

const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

const run: Run = async (cmd, label, ctx, body) => {
  const g = globalsOf(cmd);
  const session = createSession(g, ctx);
  try {
    await body(session);
  } catch (err) {
    process.stderr.write(`dsn: ${describeError(label, err, ctx)}\n`);
    if (g.debug) process.stderr.write(`${inspect(err, { depth: 4 })}\n`);
    // A command that printed its document (the failed item, the job that did not succeed) and
    // then failed says why on stderr: stdout stays one JSON document.
    if (g.json && !session.printed) {
      const error =
        err instanceof ApiError
          ? { status: err.status, code: err.code, message: err.message, ...err.details }
          : {
              code: err instanceof Error ? err.name : 'Error',
              message: String((err as Error)?.message ?? err),
            };
      process.stdout.write(`${JSON.stringify({ error })}\n`);
    }
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  }
};

function buildProgram(): Command {
  const program = new Command('dsn')
    .description('dsn: a dispersed storage network (Reed-Solomon over S3 buckets)')
    .version(version)
    .option(
      '--endpoint <url>',
      `the dsn HTTP API (default: $DSN_ENDPOINT, else ${DEFAULT_ENDPOINT}, the local cloud)`,
    )
    .option('--json', 'print one JSON document on stdout')
    .option('--debug', 'print HTTP calls and stack traces on stderr')
    .option('--no-progress', 'never draw progress bars')
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      outputError: (str, write) =>
        write(`dsn: ${str.replace(/^error: /, '').trim()} (see dsn --help)\n`),
    });
  // The order of registration is the order of dsn --help.
  const cli: CommandContext = { run };
  registerVaultCommands(program, cli);
  registerObjectCommands(program, cli);
  registerDispersalCommands(program, cli);
  registerRepairCommands(program, cli);
  registerWorkCommands(program, cli);
  registerUnitCommands(program, cli);
  registerListenCommands(program, cli);
  registerWatchCommand(program, cli);
  registerKeyCommands(program, cli);
  registerReplicationCommands(program, cli);
  registerAdminCommands(program, cli);
  return program;
}

async function main(argv: string[]): Promise<void> {
  // `dsn get ... | head` closes the pipe early: that ends the command, it is not a failure.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const interrupted = (code: number) => () => {
    stopAllBars();
    undoAll();
    process.stderr.write(`dsn: ${interruptedMessage()}\n`);
    process.exit(code);
  };
  process.once('SIGINT', interrupted(130));
  // As SIGTERM's default would end it (128 + 15), after undoing what it left.
  process.once('SIGTERM', interrupted(143));
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; everything else commander refuses is usage.
      const ok = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(
        err.code,
      );
      process.exitCode = ok && err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}

await main(process.argv.slice(2));

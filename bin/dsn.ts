#!/usr/bin/env node
/**
 * `dsn`: the command line of the dispersed storage network. It talks to the HTTP API (the
 * local cloud by default, `--endpoint` or DSN_ENDPOINT for another), prints human output on
 * stdout or one JSON document with `--json`, draws progress bars on a terminal only, and
 * reports a failure as one line on stderr with a non-zero exit code (2 for usage errors).
 *
 *   dsn vault create|ls|show       dsn put FILE VAULT/KEY        dsn get VAULT/KEY [FILE|-]
 *   dsn ls VAULT[/PREFIX]          dsn rm VAULT/KEY              dsn explain VAULT/KEY
 *   dsn rebuild VAULT [--watch]    dsn unit ls|down|up           dsn chaos --slices N
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { publicJob } from '../shared/repair/rebuild-job.ts';
import { FAULT_MODES, MAX_CHAOS_SLICES } from '../shared/store/fault.ts';
import { DEFAULT_SEGMENT_SIZE, DEFAULT_VAULT, type Vault } from '../shared/store/vault.ts';
import { DsnClient, isMissingRoute, objectPath, vaultPath } from './client.ts';
import { ApiError, CliError, describeError, type ErrorContext, UsageError } from './errors.ts';
import { columns, type Explanation, explainText, formatBytes, formatDuration } from './format.ts';
import { lazyBar, NO_PROGRESS, type Progress, stopAllBars } from './progress.ts';

const DEFAULT_ENDPOINT = 'http://127.0.0.1:3000';
const REBUILD_POLL_MS = 500;

interface Globals {
  endpoint?: string;
  json?: boolean;
  debug?: boolean;
  progress: boolean;
}

/** The wire shape of a rebuild job, from the code that writes it. */
type RebuildJob = ReturnType<typeof publicJob>;

const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

function globalsOf(cmd: Command): Globals {
  return cmd.optsWithGlobals() as Globals;
}

function endpointOf(g: Globals): string {
  const endpoint = g.endpoint ?? (process.env.DSN_ENDPOINT || DEFAULT_ENDPOINT);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`endpoint "${endpoint}" is not a URL (like ${DEFAULT_ENDPOINT})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`endpoint "${endpoint}" must be http:// or https://`);
  }
  return endpoint;
}

function clientOf(g: Globals): DsnClient {
  return new DsnClient(
    endpointOf(g),
    g.debug ? (line) => process.stderr.write(`dsn: ${line}\n`) : undefined,
  );
}

/** Human output on stdout, or the JSON document with --json. */
function print(g: Globals, json: unknown, human: () => string): void {
  const text = g.json ? JSON.stringify(json, null, 2) : human();
  if (text) process.stdout.write(`${text}\n`);
}

/**
 * Runs one command: `label` names it in the error line ("put a.jpg photos/a.jpg"), `ctx`
 * names its vault and key for hints.
 */
async function run(
  cmd: Command,
  label: string,
  ctx: ErrorContext,
  body: (g: Globals) => Promise<void>,
): Promise<void> {
  const g = globalsOf(cmd);
  try {
    await body(g);
  } catch (err) {
    process.stderr.write(`dsn: ${describeError(label, err, ctx)}\n`);
    if (g.debug) process.stderr.write(`${inspect(err, { depth: 4 })}\n`);
    if (g.json) {
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
}

/** Splits `VAULT/KEY`. @throws UsageError */
function target(text: string, what = 'VAULT/KEY'): { vault: string; key: string } {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) {
    throw new UsageError(`expected ${what}, got "${text}"`);
  }
  return { vault: text.slice(0, slash), key: text.slice(slash + 1) };
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer ${min}..${max}`);
    }
    return n;
  };
}

/** `4096`, `64KiB`, `4MiB`, `4M`. */
function size(value: string): number {
  const m = /^(\d+)\s*(|b|k|kib|kb|m|mib|mb)$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a size like 65536, 64KiB or 4MiB');
  const unit = (m[2] ?? '').toLowerCase();
  const scale = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1;
  return Number(m[1]) * scale;
}

function unitList(value: string): number[] {
  const units = value.split(',').map((s) => Number(s.trim()));
  if (units.some((u) => !Number.isInteger(u) || u < 0)) {
    throw new InvalidArgumentError('must be unit numbers separated by commas, like 0,1,2');
  }
  return units;
}

/**
 * Bars go to stderr, and only when stdout is a terminal too: piped or `--json` output gets none.
 */
function barsWanted(g: Globals): boolean {
  return g.progress && !g.json && process.stdout.isTTY === true;
}

/** A byte progress for a transfer of a known size (stdin's is unknown: no bar). */
function barFor(g: Globals, label: string) {
  return (total: number | undefined): Progress =>
    barsWanted(g) && total !== undefined
      ? lazyBar({ stream: process.stderr, label, total, unit: 'bytes' })
      : NO_PROGRESS;
}

/** Admin routes exist on the local cloud only: elsewhere they are a plain 404. */
async function admin<T>(
  client: DsnClient,
  method: string,
  path: string,
  body?: object,
): Promise<T> {
  try {
    return await client.json<T>(method, path, { body });
  } catch (err) {
    if (isMissingRoute(err)) {
      throw new CliError('fault injection exists only on the local cloud', {
        hint: `${client.endpoint} has no ${path.split('/').slice(0, 3).join('/')} route (a deployment on AWS has none); start one with npm start`,
      });
    }
    throw err;
  }
}

/** A route the lead's API may not have yet (explain, rebuild) answers a plain 404. */
function missingRoute(err: unknown, what: string, client: DsnClient): unknown {
  if (isMissingRoute(err)) {
    return new CliError(`${client.endpoint} has no ${what} route`, {
      hint: 'the service there is older than this CLI; deploy or start the current one',
    });
  }
  return err;
}

function vaultLine(v: Vault): string[] {
  return [
    v.name,
    `${v.readThreshold}-of-${v.width}`,
    `T = ${v.writeThreshold}`,
    formatBytes(v.segmentSize),
    v.units.join(','),
  ];
}

function rebuildSummary(job: RebuildJob): string {
  const took =
    job.finishedAt !== undefined
      ? ` in ${formatDuration((Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000)}`
      : '';
  const lines = [
    `rebuild of ${job.vault} (job ${job.id}): ${job.state}${job.phase && job.state !== 'done' ? `, phase ${job.phase}` : ''}${took}`,
    `  segments scanned ${job.segmentsScanned}/${job.totalSegments}, repaired ${job.segmentsRepaired} (${job.slicesRepaired} slices), lost ${job.segmentsLost}`,
    `  orphan slices deleted ${job.orphansDeleted}, slice bytes moved ${formatBytes(job.bytesMoved)}`,
  ];
  if (job.state !== 'done') {
    if (job.etaSeconds !== undefined) lines.push(`  about ${formatDuration(job.etaSeconds)} left`);
    lines.push(`  follow it with: dsn rebuild ${job.vault} --watch`);
  }
  return lines.join('\n');
}

/** Lost segments, LOUDLY on stderr. @returns whether there were any. */
function reportLost(job: RebuildJob): boolean {
  if (job.segmentsLost === 0 && job.lost.length === 0) return false;
  const lines = [
    '',
    `!!! DATA LOST in vault ${job.vault}: ${job.segmentsLost} segment(s) have fewer than k good slices and cannot be read or rebuilt:`,
    ...job.lost.map(
      (l) =>
        `!!!   ${l.key}  (revision ${l.revision}, segment ${l.segment}, ${l.good} good slices)`,
    ),
  ];
  if (job.lost.length < job.segmentsLost)
    lines.push(`!!!   ... and ${job.segmentsLost - job.lost.length} more (see the rebuild log)`);
  lines.push('!!! Restore these objects from another copy and put them again.', '');
  process.stderr.write(`${lines.join('\n')}\n`);
  return true;
}

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

  const vault = program.command('vault').description('create and inspect vaults');
  vault
    .command('create <name>')
    .description('create a vault: each object is cut into k-of-n slices over n units')
    .addOption(
      new Option('--width <n>', 'n: slices per segment, one unit each')
        .argParser(integer(1, 256))
        .default(DEFAULT_VAULT.width),
    )
    .addOption(
      new Option('--read-threshold <k>', 'k: slices needed to read')
        .argParser(integer(1, 256))
        .default(DEFAULT_VAULT.readThreshold),
    )
    .addOption(
      new Option('--write-threshold <t>', 'T: units that must confirm a write')
        .argParser(integer(1, 256))
        .default(DEFAULT_VAULT.writeThreshold),
    )
    .option(
      '--segment-size <size>',
      `bytes per segment, like 4MiB (default ${DEFAULT_SEGMENT_SIZE / 1024 / 1024}MiB)`,
      size,
    )
    .option('--units <list>', 'pool units to use, like 0,1,2 (default: the least used)', unitList)
    .action(async (name: string, o, cmd: Command) =>
      run(cmd, `vault create ${name}`, { vault: name }, async (g) => {
        const created = await clientOf(g).json<Vault>('POST', '/vaults', {
          body: {
            name,
            width: o.width,
            readThreshold: o.readThreshold,
            writeThreshold: o.writeThreshold,
            ...(o.segmentSize === undefined ? {} : { segmentSize: o.segmentSize }),
            ...(o.units === undefined ? {} : { units: o.units }),
          },
        });
        print(
          g,
          created,
          () =>
            `created vault ${created.name}: ${created.readThreshold}-of-${created.width}, T = ${created.writeThreshold}, segments of ${formatBytes(created.segmentSize)}, units ${created.units.join(', ')}`,
        );
      }),
    );
  vault
    .command('ls')
    .description('list vaults')
    .action(async (_o, cmd: Command) =>
      run(cmd, 'vault ls', {}, async (g) => {
        const { vaults } = await clientOf(g).json<{ vaults: Vault[] }>('GET', '/vaults');
        print(g, { vaults }, () =>
          columns([['NAME', 'CODE', 'WRITE', 'SEGMENT', 'UNITS'], ...vaults.map(vaultLine)]),
        );
      }),
    );
  vault
    .command('show <name>')
    .description("show a vault's configuration")
    .action(async (name: string, _o, cmd: Command) =>
      run(cmd, `vault show ${name}`, { vault: name }, async (g) => {
        const v = await clientOf(g).json<Vault>('GET', vaultPath(name));
        print(g, v, () =>
          columns([
            ['name', v.name],
            [
              'code',
              `${v.readThreshold}-of-${v.width} (any ${v.readThreshold} of ${v.width} slices read a segment)`,
            ],
            ['write threshold', `${v.writeThreshold} units must confirm`],
            ['segment size', `${formatBytes(v.segmentSize)} (${v.segmentSize} bytes)`],
            ['units', v.units.map((u, i) => `p${i}=unit ${u}`).join(', ')],
            ...(v.createdAt ? [['created', v.createdAt]] : []),
          ]),
        );
      }),
    );

  program
    .command('put <file> <target>')
    .description(
      'store FILE (- for stdin) at VAULT/KEY; over 4 MiB it goes through a staged upload. A target of VAULT or VAULT/DIR/ takes the file name as key',
    )
    .action(async (file: string, targetText: string, _o, cmd: Command) => {
      const ctx: ErrorContext = {};
      await run(cmd, `put ${file} ${targetText}`, ctx, async (g) => {
        let where = targetText;
        if (!where.includes('/') || where.endsWith('/')) {
          if (file === '-')
            throw new UsageError(`reading stdin needs a key: VAULT/KEY, got "${targetText}"`);
          where = `${where.endsWith('/') ? where : `${where}/`}${basename(file)}`;
        }
        Object.assign(ctx, target(where));
        const { vault: v, key } = ctx as Required<ErrorContext>;
        // Loaded here: the other commands need neither the segment cutter nor the transfers.
        const { putObject } = await import('./transfer.ts');
        const result = await putObject(clientOf(g), file, v, key, barFor(g, `put ${key}`));
        print(g, result, () => {
          const rate = result.seconds > 0 ? `, ${formatBytes(result.size / result.seconds)}/s` : '';
          const how = result.staged ? `staged upload of ${result.parts} parts` : 'one PUT';
          return `put ${file} -> ${v}/${key}: ${formatBytes(result.size)} (${result.size} bytes), revision ${result.revision}, sha256 ${result.sha256}, ${how}, ${result.seconds.toFixed(1)} s${rate}`;
        });
      });
    });

  program
    .command('get <target> [file]')
    .description(
      'read VAULT/KEY into FILE (written as FILE.partial, renamed once verified), or stdout when FILE is - or omitted',
    )
    .action(async (targetText: string, file: string | undefined, _o, cmd: Command) => {
      let ctx: ErrorContext = {};
      await run(cmd, `get ${targetText}`, ctx, async (g) => {
        const t = target(targetText);
        ctx = Object.assign(ctx, t);
        const dest = file ?? '-';
        if (dest === '-' && g.json) {
          throw new UsageError(
            '--json prints a document on stdout: give a FILE to write the object to',
          );
        }
        const toStdout = dest === '-';
        const progressFor = (total: number | undefined): Progress => {
          // The data goes to stdout: the bar may only go to a terminal on stderr.
          if (toStdout) {
            return g.progress && total !== undefined
              ? lazyBar({ stream: process.stderr, label: `get ${t.key}`, total, unit: 'bytes' })
              : NO_PROGRESS;
          }
          return barFor(g, `get ${t.key}`)(total);
        };
        const { getObject } = await import('./transfer.ts');
        const result = await getObject(clientOf(g), t.vault, t.key, dest, progressFor);
        if (toStdout) return;
        print(g, result, () => {
          const rate = result.seconds > 0 ? `, ${formatBytes(result.size / result.seconds)}/s` : '';
          return `got ${t.vault}/${t.key} -> ${dest}: ${formatBytes(result.size)} (${result.size} bytes), revision ${result.revision}, sha256 verified, ${result.seconds.toFixed(1)} s${rate}`;
        });
      });
    });

  program
    .command('ls <where>')
    .description('list objects of VAULT, or of VAULT/PREFIX (all pages)')
    .action(async (where: string, _o, cmd: Command) => {
      const slash = where.indexOf('/');
      const v = slash < 0 ? where : where.slice(0, slash);
      const prefix = slash < 0 ? '' : where.slice(slash + 1);
      await run(cmd, `ls ${where}`, { vault: v }, async (g) => {
        const client = clientOf(g);
        const objects: Array<{ key: string; size: number; revision: string; sha256: string }> = [];
        let cursor: string | null | undefined;
        do {
          const q = new URLSearchParams({ prefix, limit: '1000' });
          if (cursor) q.set('cursor', cursor);
          const page = await client.json<{ objects: typeof objects; cursor: string | null }>(
            'GET',
            `${vaultPath(v)}/objects?${q}`,
          );
          objects.push(...page.objects);
          cursor = page.cursor;
        } while (cursor);
        if (!g.json && objects.length === 0) {
          process.stderr.write(`dsn: no objects in ${v}${prefix ? ` under "${prefix}"` : ''}\n`);
          return;
        }
        print(g, { vault: v, prefix, objects }, () =>
          columns(
            [
              ['SIZE', 'REVISION', 'KEY'],
              ...objects.map((o) => [String(o.size), o.revision, o.key]),
            ],
            [0],
          ),
        );
      });
    });

  program
    .command('rm <target>')
    .description('delete VAULT/KEY')
    .action(async (targetText: string, _o, cmd: Command) => {
      const ctx: ErrorContext = {};
      await run(cmd, `rm ${targetText}`, ctx, async (g) => {
        Object.assign(ctx, target(targetText));
        const { vault: v, key } = ctx as Required<ErrorContext>;
        await clientOf(g).request('DELETE', objectPath(v, key));
        print(g, { vault: v, key, removed: true }, () => `removed ${v}/${key}`);
      });
    });

  program
    .command('explain <target>')
    .description("show VAULT/KEY's health: every slice of every segment, checked")
    .option('-v, --verbose', 'name the unit, bucket and key behind each pillar, and each defect')
    .action(async (targetText: string, o: { verbose?: boolean }, cmd: Command) => {
      const ctx: ErrorContext = {};
      await run(cmd, `explain ${targetText}`, ctx, async (g) => {
        Object.assign(ctx, target(targetText));
        const { vault: v, key } = ctx as Required<ErrorContext>;
        const client = clientOf(g);
        const e = await client
          .json<Explanation>('GET', `${objectPath(v, key)}?explain`)
          .catch((err) => {
            throw missingRoute(err, 'explain', client);
          });
        print(g, e, () => explainText(e, o.verbose === true));
      });
    });

  program
    .command('rebuild <vault>')
    .description('check every segment of VAULT and rewrite missing or corrupt slices')
    .option('--watch', 'follow the job with a progress bar until it is done')
    .option('--restart', 'start over instead of resuming an unfinished job')
    .action(async (v: string, o: { watch?: boolean; restart?: boolean }, cmd: Command) =>
      run(cmd, `rebuild ${v}`, { vault: v }, async (g) => {
        const client = clientOf(g);
        const path = `${vaultPath(v)}/rebuild`;
        let job = await client
          .json<RebuildJob>('POST', path, { body: o.restart ? { restart: true } : {} })
          .catch((err) => {
            throw missingRoute(err, 'rebuild', client);
          });
        if (o.watch) {
          const bar = barsWanted(g)
            ? lazyBar({
                stream: process.stderr,
                label: `rebuild ${v}`,
                total: job.totalSegments,
                unit: 'count',
                eta: () => job.etaSeconds,
              })
            : NO_PROGRESS;
          try {
            while (job.state !== 'done') {
              await sleep(REBUILD_POLL_MS);
              job = await client.json<RebuildJob>('GET', path);
              bar.setTotal(job.totalSegments);
              bar.update(job.segmentsScanned, job.phase);
            }
          } finally {
            bar.stop();
          }
        }
        print(g, job, () => rebuildSummary(job));
        if (job.state === 'done' && reportLost(job)) {
          throw new CliError(`${job.segmentsLost} segment(s) of vault ${v} are lost`, {
            hint: 'see the list above',
          });
        }
      }),
    );

  const unit = program
    .command('unit')
    .description('storage units: faults and request counts (local cloud only)');
  unit
    .command('ls')
    .description("each unit's bucket, injected fault and S3 request counts")
    .action(async (_o, cmd: Command) =>
      run(cmd, 'unit ls', {}, async (g) => {
        const client = clientOf(g);
        const { faults } = await admin<{
          faults: Array<{ unit: number; mode: string; delayMs?: number }>;
        }>(client, 'GET', '/admin/faults');
        const { units } = await admin<{
          units: Array<{
            unit: number;
            bucket: string;
            put: number;
            get: number;
            head: number;
            delete: number;
            list: number;
          }>;
        }>(client, 'GET', '/admin/requests');
        const merged = units.map((u) => ({
          ...u,
          fault: faults.find((f) => f.unit === u.unit) ?? null,
        }));
        print(g, { units: merged }, () =>
          columns(
            [
              ['UNIT', 'STATE', 'PUT', 'GET', 'HEAD', 'DELETE', 'LIST', 'BUCKET'],
              ...merged.map((u) => [
                String(u.unit),
                u.fault
                  ? `down: ${u.fault.mode}${u.fault.delayMs ? ` ${u.fault.delayMs} ms` : ''}`
                  : 'up',
                String(u.put),
                String(u.get),
                String(u.head),
                String(u.delete),
                String(u.list),
                u.bucket,
              ]),
            ],
            [0, 2, 3, 4, 5, 6],
          ),
        );
      }),
    );
  unit
    .command('down')
    .description("make a unit's bucket misbehave (local cloud only)")
    .argument('<unit>', 'the unit number', integer(0, 255))
    .addOption(
      new Option('--mode <mode>', 'how it fails').choices(FAULT_MODES).makeOptionMandatory(),
    )
    .option('--delay-ms <ms>', 'added latency for --mode slow', integer(1, 60_000))
    .action(async (n: number, o: { mode: string; delayMs?: number }, cmd: Command) =>
      run(cmd, `unit down ${n}`, {}, async (g) => {
        if (o.mode === 'slow' && o.delayMs === undefined)
          throw new UsageError('--mode slow needs --delay-ms N');
        const fault = await admin<{ unit: number; mode: string; delayMs?: number }>(
          clientOf(g),
          'PUT',
          `/admin/units/${n}/fault`,
          { mode: o.mode, ...(o.delayMs === undefined ? {} : { delayMs: o.delayMs }) },
        );
        print(
          g,
          fault,
          () =>
            `unit ${fault.unit} is down: ${fault.mode}${fault.delayMs ? ` (${fault.delayMs} ms)` : ''}; bring it back with: dsn unit up ${fault.unit}`,
        );
      }),
    );
  unit
    .command('up')
    .description('clear the fault of a unit (local cloud only)')
    .argument('<unit>', 'the unit number', integer(0, 255))
    .action(async (n: number, _o, cmd: Command) =>
      run(cmd, `unit up ${n}`, {}, async (g) => {
        await admin(clientOf(g), 'DELETE', `/admin/units/${n}/fault`);
        print(g, { unit: n, fault: null }, () => `unit ${n} is up`);
      }),
    );

  program
    .command('chaos')
    .description('bit rot: flip one byte in N random slice files on disk (local cloud only)')
    .requiredOption('--slices <n>', 'how many slices', integer(1, MAX_CHAOS_SLICES))
    .option('--vault <name>', "only this vault's slices")
    .option(
      '--seed <s>',
      'repeatable choice (the same seed twice flips the bytes back)',
      integer(0, 0xffffffff),
    )
    .action(async (o: { slices: number; vault?: string; seed?: number }, cmd: Command) =>
      run(cmd, 'chaos', { vault: o.vault }, async (g) => {
        const result = await admin<{
          requested: number;
          available: number;
          flipped: Array<{ unit: number; bucket: string; key: string; offset: number }>;
        }>(clientOf(g), 'POST', '/admin/chaos', {
          slices: o.slices,
          ...(o.vault === undefined ? {} : { vault: o.vault }),
          ...(o.seed === undefined ? {} : { seed: o.seed }),
        });
        print(g, result, () => {
          if (result.flipped.length === 0)
            return `no slice to flip${o.vault ? ` in vault ${o.vault}` : ''} (asked ${result.requested})`;
          const short =
            result.flipped.length < result.requested
              ? ` (asked ${result.requested}; only ${result.available} exist${o.vault ? ` in vault ${o.vault}` : ''})`
              : '';
          return [
            `flipped one byte in each of ${result.flipped.length} slice(s)${short}:`,
            columns(
              [
                ['UNIT', 'OFFSET', 'SLICE'],
                ...result.flipped.map((f) => [String(f.unit), String(f.offset), f.key]),
              ],
              [0, 1],
            ),
          ].join('\n');
        });
      }),
    );

  return program;
}

async function main(argv: string[]): Promise<void> {
  // `dsn get ... | head` closes the pipe early: that ends the command, it is not a failure.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.once('SIGINT', () => {
    stopAllBars();
    process.stderr.write('dsn: interrupted\n');
    process.exit(130);
  });
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

/** `dsn put|get|ls|rm`: objects in and out of a vault, listed and deleted. */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { objectPath, vaultPath } from '../client.ts';
import { UsageError } from '../errors.ts';
import { columns, formatBytes } from '../format.ts';
import type { GetPath } from '../get.ts';
import { NO_PROGRESS, type ProgressFor } from '../progress.ts';
import type { PutPath } from '../put.ts';
import { target } from './arguments.ts';
import type { CommandContext, Session } from './context.ts';

/** A byte bar for a transfer, once its size is known (stdin's is not: no bar). */
function bytesProgress(s: Session, label: string, dataOnStdout = false): ProgressFor {
  return (total) =>
    total === undefined ? NO_PROGRESS : s.bar({ label, total, unit: 'bytes', dataOnStdout });
}

/** `1.2 s, 40.0 MiB/s`: how long a transfer took, and its rate. */
function took({ size, seconds }: { size: number; seconds: number }): string {
  const rate = seconds > 0 ? `, ${formatBytes(size / seconds)}/s` : '';
  return `${seconds.toFixed(1)} s${rate}`;
}

export function registerObjectCommands(program: Command, { run }: CommandContext): void {
  program
    .command('put <file> <target>')
    .description(
      'store FILE (- for stdin) at VAULT/KEY; from 8 MiB the client disperses it itself (slices straight to the units), else over 4 MiB it goes through a staged upload. A target of VAULT or VAULT/DIR/ takes the file name as key',
    )
    .option(
      '--via <path>',
      'auto (by size), uplink (the client encodes and places the slices) or server (one PUT or a staged upload)',
      'auto',
    )
    .option(
      '--resume <revision>',
      'resume the dispersal of REVISION that a put of this file to this key left pending (killed, cut off): only its segments not done are placed',
    )
    .action(
      async (file: string, targetText: string, o: { via: string; resume?: string }, cmd: Command) =>
        run(cmd, `put ${file} ${targetText}`, {}, async (s) => {
          let where = targetText;
          if (!where.includes('/') || where.endsWith('/')) {
            if (file === '-')
              throw new UsageError(`reading stdin needs a key: VAULT/KEY, got "${targetText}"`);
            where = `${where.endsWith('/') ? where : `${where}/`}${basename(file)}`;
          }
          if (!['auto', 'uplink', 'server'].includes(o.via))
            throw new UsageError(`--via must be auto, uplink or server, got "${o.via}"`);
          if (o.resume !== undefined && o.via === 'server')
            throw new UsageError('--resume resumes a dispersal: it takes no --via server');
          const { vault: v, key } = s.about(target(where));
          // Loaded here: the other commands need neither the segment cutter nor the transfers.
          const { putObject } = await import('../put.ts');
          const result = await putObject(
            s.client(),
            file,
            v,
            key,
            bytesProgress(s, `put ${key}`),
            o.via as PutPath,
            o.resume === undefined ? {} : { resume: o.resume },
          );
          s.print(result, () => {
            const how = result.uplink
              ? `dispersed by the client in ${result.segments} segments${result.skipped ? ` (resumed: ${result.skipped} were done)` : ''}`
              : result.staged
                ? `staged upload of ${result.parts} parts`
                : 'one PUT';
            return `put ${file} -> ${v}/${key}: ${formatBytes(result.size)} (${result.size} bytes), revision ${result.revision}, sha256 ${result.sha256}, ${how}, ${took(result)}`;
          });
        }),
    );

  program
    .command('get <target> [file]')
    .description(
      'read VAULT/KEY into FILE (written as FILE.partial, renamed once verified), or stdout when FILE is - or omitted; from 8 MiB the client reads the slices itself, straight from the units',
    )
    .option(
      '--via <path>',
      'auto (by size), downlink (the client reads and rebuilds the slices) or server (ranges through the API)',
      'auto',
    )
    .action(
      async (targetText: string, file: string | undefined, o: { via: string }, cmd: Command) =>
        run(cmd, `get ${targetText}`, {}, async (s) => {
          if (!['auto', 'downlink', 'server'].includes(o.via))
            throw new UsageError(`--via must be auto, downlink or server, got "${o.via}"`);
          const t = s.about(target(targetText));
          const dest = file ?? '-';
          if (dest === '-' && s.json) {
            throw new UsageError(
              '--json prints a document on stdout: give a FILE to write the object to',
            );
          }
          const toStdout = dest === '-';
          const { getObject } = await import('../get.ts');
          const result = await getObject(
            s.client(),
            t.vault,
            t.key,
            dest,
            bytesProgress(s, `get ${t.key}`, toStdout),
            o.via as GetPath,
          );
          if (toStdout) return;
          s.print(result, () => {
            const how = result.slices
              ? `read by the client from ${result.slices.gets} slice GETs${result.slices.served.edge > 0 ? ` (${result.slices.served.edge} of ${result.slices.served.edge + result.slices.served.home} segments from edge copies)` : ''}${result.slices.damaged > 0 ? ` (${result.slices.damaged} damaged slices met, ${result.slices.reported} reported for repair)` : ''}`
              : 'read through the API';
            return `got ${t.vault}/${t.key} -> ${dest}: ${formatBytes(result.size)} (${result.size} bytes), revision ${result.revision}, sha256 verified, ${how}, ${took(result)}`;
          });
        }),
    );

  program
    .command('ls <where>')
    .description('list objects of VAULT, or of VAULT/PREFIX (all pages)')
    .action(async (where: string, _o, cmd: Command) => {
      const slash = where.indexOf('/');
      const v = slash < 0 ? where : where.slice(0, slash);
      const prefix = slash < 0 ? '' : where.slice(slash + 1);
      await run(cmd, `ls ${where}`, { vault: v }, async (s) => {
        const client = s.client();
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
        if (!s.json && objects.length === 0) {
          process.stderr.write(`dsn: no objects in ${v}${prefix ? ` under "${prefix}"` : ''}\n`);
          return;
        }
        s.print({ vault: v, prefix, objects }, () =>
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
    .action(async (targetText: string, _o, cmd: Command) =>
      run(cmd, `rm ${targetText}`, {}, async (s) => {
        const { vault: v, key } = s.about(target(targetText));
        await s.client().request('DELETE', objectPath(v, key));
        s.print({ vault: v, key, removed: true }, () => `removed ${v}/${key}`);
      }),
    );
}

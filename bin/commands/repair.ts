/** `dsn explain|rebuild`: an object's slice-by-slice health, and a vault's repair job. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { publicJob } from '../../shared/repair/rebuild-job.ts';
import { type DsnClient, isMissingRoute, objectPath, vaultPath } from '../client.ts';
import { CliError } from '../errors.ts';
import { type Explanation, explainText, formatBytes, formatDuration } from '../format.ts';
import { target } from './arguments.ts';
import type { CommandContext } from './context.ts';

const REBUILD_POLL_MS = 500;

/** The wire shape of a rebuild job, from the code that writes it. */
type RebuildJob = ReturnType<typeof publicJob>;

/** A route the lead's API may not have yet (explain, rebuild) answers a plain 404. */
function missingRoute(err: unknown, what: string, client: DsnClient): unknown {
  if (isMissingRoute(err)) {
    return new CliError(`${client.endpoint} has no ${what} route`, {
      hint: 'the service there is older than this CLI; deploy or start the current one',
    });
  }
  return err;
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

const WORST: Explanation['verdict'][] = ['healthy', 'degraded', 'lost'];

/**
 * `dsn explain`'s exit status by verdict, as fsck-style tools answer, so scripts can branch on
 * it: 0 healthy, 3 degraded (readable, some slices need repair), 4 lost (some segment has fewer
 * than k good slices). 1 and 2 stay the CLI's failure and usage codes.
 */
export const EXPLAIN_EXIT: Record<Explanation['verdict'], number> = {
  healthy: 0,
  degraded: 3,
  lost: 4,
};

/** Two consecutive explain pages as one: their segments, the worst verdict, the next cursor. */
function joinPages(a: Explanation, b: Explanation): Explanation {
  return {
    ...b,
    verdict: WORST[Math.max(WORST.indexOf(a.verdict), WORST.indexOf(b.verdict))] ?? b.verdict,
    minGood: Math.min(a.minGood, b.minGood),
    segments: [...a.segments, ...b.segments],
  };
}

export function registerRepairCommands(program: Command, { run }: CommandContext): void {
  program
    .command('explain <target>')
    .description("show VAULT/KEY's health: every slice of every segment, checked")
    .option('-v, --verbose', 'name the unit, bucket and key behind each pillar, and each defect')
    .action(async (targetText: string, o: { verbose?: boolean }, cmd: Command) =>
      run(cmd, `explain ${targetText}`, {}, async (s) => {
        const { vault: v, key } = s.about(target(targetText));
        const client = s.client();
        const page = (cursor: number | null) =>
          client
            .json<Explanation>(
              'GET',
              `${objectPath(v, key)}?explain${cursor === null ? '' : `&cursor=${cursor}`}`,
            )
            .catch((err) => {
              throw missingRoute(err, 'explain', client);
            });
        // The API explains a page of segments per call; the whole object is every page.
        let e = await page(null);
        while (e.cursor !== null) e = joinPages(e, await page(e.cursor));
        s.print(e, () => explainText(e, o.verbose === true));
        s.exitWith(EXPLAIN_EXIT[e.verdict]);
      }),
    );

  program
    .command('rebuild <vault>')
    .description('check every segment of VAULT and rewrite missing or corrupt slices')
    .option('--watch', 'follow the job with a progress bar until it is done')
    .option('--restart', 'start over instead of resuming an unfinished job')
    .action(async (v: string, o: { watch?: boolean; restart?: boolean }, cmd: Command) =>
      run(cmd, `rebuild ${v}`, { vault: v }, async (s) => {
        const client = s.client();
        const path = `${vaultPath(v)}/rebuild`;
        let job = await client
          .json<RebuildJob>('POST', path, { body: o.restart ? { restart: true } : {} })
          .catch((err) => {
            throw missingRoute(err, 'rebuild', client);
          });
        if (o.watch) {
          const bar = s.bar({
            label: `rebuild ${v}`,
            total: job.totalSegments,
            unit: 'count',
            eta: () => job.etaSeconds,
          });
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
        s.print(job, () => rebuildSummary(job));
        if (job.state === 'done' && reportLost(job)) {
          throw new CliError(`${job.segmentsLost} segment(s) of vault ${v} are lost`, {
            hint: 'see the list above',
          });
        }
      }),
    );
}

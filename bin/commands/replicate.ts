/**
 * `dsn replicate SRC DST [--delete] [--watch]` and `dsn replication ls|show|restart|cancel`:
 * replication jobs over the HTTP API (seeds 003, 004). Each side is `VAULT[/PREFIX]`, or
 * `s3://BUCKET[/PREFIX]` on the deployment's own S3 or, with `--endpoint-url`, another
 * S3-compatible endpoint, whose credentials the deployment's functions hold (their own, or the
 * Secrets Manager secret `--secret` names), never the CLI.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { showReplication } from '../../shared/replication/jobs.ts';
import { CliError, UsageError } from '../errors.ts';
import { columns, formatBytes } from '../format.ts';
import type { CommandContext } from './context.ts';

const POLL_MS = 500;

/** The wire shape of a job, from the code that writes it. */
type Job = Awaited<ReturnType<typeof showReplication>>;

type SideArg =
  | { vault: string; prefix?: string }
  | { bucket: string; endpoint?: string; region?: string; secret?: string; prefix?: string };

/**
 * `VAULT[/PREFIX]` or `s3://BUCKET[/PREFIX]` as the API's side; `--endpoint-url`, `--region`
 * and `--secret` apply to s3 sides only. @throws UsageError
 */
export function parseSideArg(
  text: string,
  endpointUrl?: string,
  region?: string,
  secret?: string,
): SideArg {
  const s3 = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(text);
  if (s3) {
    return {
      bucket: s3[1] as string,
      ...(endpointUrl ? { endpoint: endpointUrl } : {}),
      ...(region ? { region } : {}),
      ...(secret ? { secret } : {}),
      ...(s3[2] ? { prefix: s3[2] } : {}),
    };
  }
  if (text.includes('://'))
    throw new UsageError(`${text}: expected VAULT[/PREFIX] or s3://BUCKET[/PREFIX]`);
  const slash = text.indexOf('/');
  const vault = slash === -1 ? text : text.slice(0, slash);
  if (vault === '') throw new UsageError(`${text}: the vault name is missing`);
  const prefix = slash === -1 ? '' : text.slice(slash + 1);
  return { vault, ...(prefix ? { prefix } : {}) };
}

function sideText(side: Job['source']): string {
  return 'vault' in side ? `${side.vault}/${side.prefix}` : `s3://${side.bucket}/${side.prefix}`;
}

/** Each worker's load score, as one line. */
function loadsText(job: Job): string {
  return job.workers.map((w) => `w${w.worker} ${formatBytes(w.load)} (${w.tasks})`).join('  ');
}

function jobText(job: Job): string {
  const lines = [
    `replication ${job.id}: ${job.state}, ${sideText(job.source)} -> ${sideText(job.destination)}`,
    `  tasks ${job.tasks.done}/${job.tasks.total} done, ${job.tasks.failed} failed, ${job.tasks.pending} pending`,
    `  bytes ${formatBytes(job.bytes.copied)} of ${formatBytes(job.bytes.total)}; restarts ${job.restarts}, migrations ${job.migrations}`,
    `  worker load: ${loadsText(job)}`,
    ...(job.error ? [`  error: ${job.error}`] : []),
  ];
  // Running with an error: its controller ended (a crash); nothing moves it until a restart.
  if (job.state === 'running' && job.error)
    lines.push(`  restart it with: dsn replication restart ${job.id}`);
  else if (job.state === 'running') lines.push(`  follow it with: dsn replication show ${job.id}`);
  return lines.join('\n');
}

export function registerReplicationCommands(program: Command, { run }: CommandContext): void {
  program
    .command('replicate <src> <dst>')
    .description('copy or sync VAULT[/PREFIX] or s3://BUCKET[/PREFIX] to another (seed 003)')
    .option('--delete', 'delete destination objects the source does not have')
    .option('--watch', 'follow the job with a progress bar and per-worker load until it ends')
    .option('--endpoint-url <url>', 'the S3-compatible endpoint of the s3:// sides')
    .option('--region <region>', 'the region of the s3:// sides')
    .option(
      '--secret <name>',
      "the Secrets Manager secret (under dsn/replication/) holding the s3:// sides' credentials",
    )
    .action(
      async (
        src: string,
        dst: string,
        o: {
          delete?: boolean;
          watch?: boolean;
          endpointUrl?: string;
          region?: string;
          secret?: string;
        },
        cmd: Command,
      ) =>
        run(cmd, `replicate ${src} ${dst}`, {}, async (s) => {
          const client = s.client();
          const body = {
            source: parseSideArg(src, o.endpointUrl, o.region, o.secret),
            destination: parseSideArg(dst, o.endpointUrl, o.region, o.secret),
            deleteExtraneous: o.delete === true,
          };
          let job = await client.json<Job>('POST', '/replications', { body });
          if (o.watch) {
            const bar = s.bar({
              label: `replicate ${job.id}`,
              total: job.bytes.total,
              unit: 'bytes',
            });
            try {
              while (job.state === 'running' && !job.error) {
                await sleep(POLL_MS);
                job = await client.json<Job>('GET', `/replications/${job.id}`);
                bar.setTotal(job.bytes.total);
                bar.update(job.bytes.copied, loadsText(job));
              }
            } finally {
              bar.stop();
            }
          }
          s.print(job, () => jobText(job));
          // Waited for: a job that did not succeed fails the command, as `dsn work wait` does.
          if (o.watch && job.state !== 'succeeded')
            throw new CliError(
              job.state === 'running'
                ? `replication ${job.id} is not moving: ${job.error}`
                : `replication ${job.id} ended ${job.state}${job.error ? `: ${job.error}` : ''}`,
              { hint: `dsn replication restart ${job.id} sends what is unfinished` },
            );
        }),
    );

  const replication = program
    .command('replication')
    .description('replication jobs: ls, show, restart, cancel');
  replication
    .command('ls')
    .description('list replication jobs, newest first')
    .action(async (_o: unknown, cmd: Command) =>
      run(cmd, 'replication ls', {}, async (s) => {
        const page = await s.client().json<{
          replications: Array<{
            id: string;
            state: string;
            source: Job['source'];
            destination: Job['destination'];
            startedAt: string;
          }>;
        }>('GET', '/replications');
        s.print(page, () =>
          columns([
            ['ID', 'STATE', 'SOURCE', 'DESTINATION', 'STARTED'],
            ...page.replications.map((r) => [
              r.id,
              r.state,
              sideText(r.source),
              sideText(r.destination),
              r.startedAt,
            ]),
          ]),
        );
      }),
    );
  for (const [name, method, what] of [
    ['show', 'GET', 'show a job: tasks, bytes, per-worker load'],
    ['restart', 'POST', 'resend only the unfinished tasks of a job'],
    ['cancel', 'POST', 'stop a running job'],
  ] as const) {
    replication
      .command(`${name} <id>`)
      .description(what)
      .action(async (id: string, _o: unknown, cmd: Command) =>
        run(cmd, `replication ${name} ${id}`, {}, async (s) => {
          const path = name === 'show' ? `/replications/${id}` : `/replications/${id}/${name}`;
          const job = await s.client().json<Job>(method, path);
          s.print(job, () => jobText(job));
        }),
      );
  }
}

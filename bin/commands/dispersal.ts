/**
 * `dsn dispersal ls VAULT` and `dsn dispersal cancel VAULT REVISION`: the caller's client-side
 * dispersals still pending, to find a revision a put left (killed before it printed one) and
 * resume it (`dsn put FILE VAULT/KEY --resume REVISION`) or give it up.
 */
import type { Command } from 'commander';
import { cancelDispersal, type PendingDispersal, pendingDispersals } from '../../client/uplink.ts';
import { columns } from '../format.ts';
import type { CommandContext } from './context.ts';

export function registerDispersalCommands(program: Command, { run }: CommandContext): void {
  const dispersal = program
    .command('dispersal')
    .description('your client-side dispersals still pending: ls, cancel');
  dispersal
    .command('ls <vault>')
    .description(
      'list your pending dispersals in VAULT, oldest first, with the --resume to finish each',
    )
    .action(async (vault: string, _o: unknown, cmd: Command) =>
      run(cmd, `dispersal ls ${vault}`, {}, async (s) => {
        const listed: PendingDispersal[] = [];
        for await (const d of pendingDispersals(s.client(), vault)) listed.push(d);
        s.print({ dispersals: listed }, () =>
          listed.length === 0
            ? `no pending dispersal of yours in ${vault}`
            : `${columns([
                ['REVISION', 'KEY', 'STARTED', 'PENDING UNTIL'],
                ...listed.map((d) => [d.revision, d.key, d.createdAt, d.pendingUntil]),
              ])}\nresume one with: dsn put FILE ${vault}/KEY --resume REVISION (the file it began with); give it up with: dsn dispersal cancel ${vault} REVISION`,
        );
      }),
    );
  dispersal
    .command('cancel <vault> <revision>')
    .description('give a pending dispersal up: nothing of it commits, and its slices are removed')
    .action(async (vault: string, revision: string, _o: unknown, cmd: Command) =>
      run(cmd, `dispersal cancel ${vault} ${revision}`, {}, async (s) => {
        const outcome = await cancelDispersal(s.client(), vault, revision);
        s.print({ revision, outcome }, () =>
          outcome === 'cancelled'
            ? `cancelled dispersal ${revision}: nothing of it commits; the janitor removes its slices`
            : `dispersal ${revision} had committed before the cancel: delete its key to remove it`,
        );
      }),
    );
}

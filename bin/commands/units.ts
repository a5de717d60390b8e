/**
 * `dsn unit ls|down|up` and `dsn chaos`: fault injection on the storage units, through admin
 * routes that only the local cloud has.
 */
import { type Command, Option } from 'commander';
import { FAULT_MODES, MAX_CHAOS_SLICES, type UnitFault } from '../../shared/store/fault.ts';
import { type DsnClient, isMissingRoute } from '../client.ts';
import { CliError, UsageError } from '../errors.ts';
import { columns } from '../format.ts';
import { integer } from './arguments.ts';
import type { CommandContext } from './context.ts';

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

export function registerUnitCommands(program: Command, { run }: CommandContext): void {
  const unit = program
    .command('unit')
    .description('storage units: faults and request counts (local cloud only)');
  unit
    .command('ls')
    .description("each unit's bucket, injected fault and S3 request counts")
    .action(async (_o, cmd: Command) =>
      run(cmd, 'unit ls', {}, async (s) => {
        const client = s.client();
        const { faults } = await admin<{ faults: UnitFault[] }>(client, 'GET', '/admin/faults');
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
        s.print({ units: merged }, () =>
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
      run(cmd, `unit down ${n}`, {}, async (s) => {
        if (o.mode === 'slow' && o.delayMs === undefined)
          throw new UsageError('--mode slow needs --delay-ms N');
        const fault = await admin<UnitFault>(s.client(), 'PUT', `/admin/units/${n}/fault`, {
          mode: o.mode,
          ...(o.delayMs === undefined ? {} : { delayMs: o.delayMs }),
        });
        s.print(
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
      run(cmd, `unit up ${n}`, {}, async (s) => {
        await admin(s.client(), 'DELETE', `/admin/units/${n}/fault`);
        s.print({ unit: n, fault: null }, () => `unit ${n} is up`);
      }),
    );

  program
    .command('chaos')
    .description('bit rot: flip one byte in N random slice files on disk (local cloud only)')
    .requiredOption('--slices <n>', 'how many slices', integer(1, MAX_CHAOS_SLICES))
    .option('--vault <name>', "only this vault's slices")
    .option('--key <key>', "only this object's slices (any of its revisions on disk)")
    .option(
      '--seed <s>',
      'repeatable choice (the same seed twice flips the bytes back)',
      integer(0, 0xffffffff),
    )
    .action(async (o: ChaosOptions, cmd: Command) =>
      run(cmd, 'chaos', { vault: o.vault }, async (s) => {
        const result = await admin<{
          requested: number;
          available: number;
          flipped: Array<{
            unit: number;
            key: string;
            offset: number;
            vault: string;
            objectKey: string | null;
            segment: number;
            pillar: number;
          }>;
        }>(s.client(), 'POST', '/admin/chaos', {
          slices: o.slices,
          ...(o.vault === undefined ? {} : { vault: o.vault }),
          ...(o.key === undefined ? {} : { key: o.key }),
          ...(o.seed === undefined ? {} : { seed: o.seed }),
        });
        s.print(result, () => {
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
                ['UNIT', 'VAULT', 'OBJECT', 'SEGMENT', 'PILLAR', 'OFFSET'],
                ...result.flipped.map((f) => [
                  String(f.unit),
                  f.vault,
                  f.objectKey ?? '(revision gone)',
                  String(f.segment),
                  String(f.pillar),
                  String(f.offset),
                ]),
              ],
              [0, 3, 4, 5],
            ),
          ].join('\n');
        });
      }),
    );
}

interface ChaosOptions {
  slices: number;
  vault?: string;
  key?: string;
  seed?: number;
}

/** `dsn vault create|ls|show`: a vault's erasure code, write threshold, segment size and units. */
import { type Command, Option } from 'commander';
import { DEFAULT_SEGMENT_SIZE, DEFAULT_VAULT, type Vault } from '../../shared/store/vault.ts';
import { vaultPath } from '../client.ts';
import { columns, formatBytes } from '../format.ts';
import { integer, size, unitList } from './arguments.ts';
import type { CommandContext } from './context.ts';

function vaultLine(v: Vault): string[] {
  return [
    v.name,
    `${v.readThreshold}-of-${v.width}`,
    `T = ${v.writeThreshold}`,
    formatBytes(v.segmentSize),
    v.units.join(','),
  ];
}

export function registerVaultCommands(program: Command, { run }: CommandContext): void {
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
      run(cmd, `vault create ${name}`, { vault: name }, async (s) => {
        const created = await s.client().json<Vault>('POST', '/vaults', {
          body: {
            name,
            width: o.width,
            readThreshold: o.readThreshold,
            writeThreshold: o.writeThreshold,
            ...(o.segmentSize === undefined ? {} : { segmentSize: o.segmentSize }),
            ...(o.units === undefined ? {} : { units: o.units }),
          },
        });
        s.print(
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
      run(cmd, 'vault ls', {}, async (s) => {
        const { vaults } = await s.client().json<{ vaults: Vault[] }>('GET', '/vaults');
        s.print({ vaults }, () =>
          columns([['NAME', 'CODE', 'WRITE', 'SEGMENT', 'UNITS'], ...vaults.map(vaultLine)]),
        );
      }),
    );
  vault
    .command('show <name>')
    .description("show a vault's configuration")
    .action(async (name: string, _o, cmd: Command) =>
      run(cmd, `vault show ${name}`, { vault: name }, async (s) => {
        const v = await s.client().json<Vault>('GET', vaultPath(name));
        s.print(v, () =>
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
}

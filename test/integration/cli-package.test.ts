/**
 * The `dsn` command line as a user installs it: bundled by infra/build-cli.ts, packed with
 * `npm pack`, installed globally into a temporary prefix (offline: the package has no
 * dependencies), and run by the machine's own Node (20 here, not the project's 24) against a
 * local cloud: vault, put of a multi-segment file, get, ls, explain.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { buildCli } from '../../infra/build-cli.ts';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { PROJECT_ROOT, startTestCloud, tempDir } from '../helpers/local-cloud.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
/** The Node the machine has on its PATH without the project's `node@24` in front. */
const SYSTEM_PATH = (process.env.PATH ?? '')
  .split(':')
  .filter((p) => !p.includes('node_modules'))
  .join(':');

describe('the bundled dsn package, installed with npm and run on the system Node', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let dsnBin: string;
  let systemNode: string;

  const dsn = (args: string[]) =>
    run(dsnBin, ['--endpoint', cloud.endpoints.api, ...args], {
      cwd: dir.path,
      env: { ...process.env, PATH: `${join(dir.path, 'prefix', 'bin')}:${SYSTEM_PATH}` },
      maxBuffer: 64 * MiB,
      encoding: 'buffer',
    });

  before(async () => {
    dir = await tempDir('dsn-cli-package');
    const built = await buildCli(join(dir.path, 'package'));
    const npmEnv = {
      ...process.env,
      npm_config_cache: join(dir.path, 'npm-cache'),
      npm_config_update_notifier: 'false',
    };
    const packed = await run('npm', ['pack', built, '--pack-destination', dir.path, '--json'], {
      cwd: dir.path,
      env: npmEnv,
    });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    await run(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        join(dir.path, 'prefix'),
        '--offline',
        '--no-audit',
        '--no-fund',
        join(dir.path, filename),
      ],
      { cwd: dir.path, env: npmEnv },
    );
    dsnBin = join(dir.path, 'prefix', 'bin', 'dsn');
    systemNode = (
      await run('sh', ['-c', 'command -v node'], { env: { ...process.env, PATH: SYSTEM_PATH } })
    ).stdout.trim();
    cloud = await startTestCloud(PROJECT_ROOT, join(dir.path, 'cloud'), 'test');
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('runs on a Node older than the checkout needs, and stores and reads back a file exactly', async (t) => {
    // Prepare
    const { stdout: nodeVersion } = await run(systemNode, ['--version']);
    t.diagnostic(`system node ${nodeVersion.trim()} at ${systemNode}`);
    const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const body = randomBytes(3 * MiB + 7);
    const file = join(dir.path, 'body.bin');
    await writeFile(file, body);

    // Act
    const version = await dsn(['--version']);
    await dsn([
      'vault',
      'create',
      'packaged',
      '--width',
      '5',
      '--read-threshold',
      '3',
      '--write-threshold',
      '4',
      '--segment-size',
      String(MiB),
    ]);
    await dsn(['put', file, 'packaged/dir/body.bin']);
    const got = await dsn(['get', 'packaged/dir/body.bin', '-']);
    const listed = await dsn(['--json', 'ls', 'packaged/dir/']);
    const explained = await dsn(['--json', 'explain', 'packaged/dir/body.bin']);

    // Assess
    assert.equal(version.stdout.toString().trim(), pkg.version);
    assert.ok(Buffer.compare(got.stdout, body) === 0, 'the bytes read back are the bytes put');
    const entries = JSON.parse(listed.stdout.toString()) as { objects: Array<{ key: string }> };
    assert.deepEqual(
      entries.objects.map((o) => o.key),
      ['dir/body.bin'],
    );
    const explain = JSON.parse(explained.stdout.toString()) as {
      verdict: string;
      segments: unknown[];
    };
    assert.equal(explain.verdict, 'healthy');
    assert.equal(explain.segments.length, 4);
  });
});

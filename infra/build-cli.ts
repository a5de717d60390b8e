/**
 * Bundles the `dsn` command line into a package that runs on Node 20 and later, outside the
 * checkout: esbuild turns bin/dsn.ts and everything it imports (the domain code, commander, the
 * AWS SDK clients the work runner and `dsn watch` use) into one ES module, so the package has no
 * dependencies to install and needs no type stripping.
 *
 *   node infra/build-cli.ts [OUT_DIR]     (default: dist/cli)
 *   npm pack ./dist/cli && npm install -g dsn-cli-<version>.tgz
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
/** The oldest Node the bundle is built for, and the one its package asks for. */
export const CLI_NODE_TARGET = 'node20';

export async function buildCli(outDir = join(ROOT, 'dist', 'cli')): Promise<string> {
  const root = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    license: string;
    description: string;
  };
  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, 'bin'), { recursive: true });
  const entry = join(outDir, 'bin', 'dsn.mjs');
  await build({
    entryPoints: [join(ROOT, 'bin', 'dsn.ts')],
    outfile: entry,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: CLI_NODE_TARGET,
    // bin/dsn.ts's own shebang is kept by esbuild; CommonJS dependencies bundled into an ES
    // module still call `require` for Node's built-ins, so one is made for them.
    banner: {
      js: "import { createRequire as __dsnCreateRequire } from 'node:module'; const require = __dsnCreateRequire(import.meta.url);",
    },
    legalComments: 'linked',
    logLevel: 'warning',
  });
  await chmod(entry, 0o755);
  // bin/dsn.ts reads its version from `../package.json`, which is this one in the package.
  const pkg = {
    name: 'dsn-cli',
    version: root.version,
    description: `${root.description} The dsn command line, bundled.`,
    license: root.license,
    type: 'module',
    bin: { dsn: 'bin/dsn.mjs' },
    engines: { node: '>=20' },
    files: ['bin/'],
  };
  await writeFile(join(outDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  await writeFile(
    join(outDir, 'README.md'),
    '# dsn-cli\n\nThe `dsn` command line of the dispersed storage network, bundled into one file for Node 20 and later. See the project README for the commands.\n',
  );
  return outDir;
}

if (import.meta.main) {
  const out = await buildCli(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stdout.write(`built ${out}\n`);
}

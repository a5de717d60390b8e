/**
 * The README's Quick tour runs as written: its fenced `sh` blocks, in order, in one bash session,
 * against a fresh local cloud started as `npm start` starts it (infra/local/main.ts, stage
 * `local`), in a temporary working directory whose `.dsn/` is the cloud's data folder, with
 * `dsn` on the PATH (a shim to `node bin/dsn.ts`).
 *
 * What the test adds around the commands, and nothing else:
 * - The cloud listens on ephemeral ports, not on 3000: `DSN_ENDPOINT` points `dsn` at it, and a
 *   `.curlrc` (through `CURL_HOME`) has curl connect `localhost:3000` to it (`connect-to`: the
 *   URL, the Host header and so the SigV4 signature stay as written).
 * - The same `.curlrc` has curl write `[tour http <status>]` to stderr after each transfer, so
 *   a `curl -s` that got a 4xx fails the test as it would fail a reader (a command's own `-w`
 *   replaces it).
 *
 * The README's markers (see its Quick tour): `[exit N]` in a command's comment (it must exit N),
 * `[http N]` or `[http N|M]` (curl's last status must be one of them, errors included; without
 * it every status must be below 400), `[not run: why]` (the command is left out) and
 * `<!-- tour: not run: why -->` on the line before a block (the block is left out). Every other
 * command must exit 0. A command is a line, with its `\`-continued lines; comment lines are not.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import {
  type CloudProcess,
  killCloudProcesses,
  PROJECT_ROOT,
  startCloudProcess,
  tempDir,
} from '../helpers/local-cloud.ts';

after(killCloudProcesses);

interface TourCommand {
  /** 1-based README line where the command starts. */
  line: number;
  /** The block, as `block N (README.md line L)`. */
  block: string;
  text: string;
  exit: number;
  /** Statuses curl's last transfer may end with; undefined: every transfer below 400. */
  http?: number[];
}

const TAG = /\[(exit \d+|http \d{3}(?:\|\d{3})*|not run: [^\]]+)\]/g;

/** The Quick tour's commands, in order, with the exit and statuses each is meant to end with. */
function tourCommands(readme: string): { commands: TourCommand[]; notRun: string[] } {
  const lines = readme.split('\n');
  const start = lines.indexOf('## Quick tour');
  assert.ok(start >= 0, 'README.md has no "## Quick tour" section');
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end < 0) end = lines.length;
  const commands: TourCommand[] = [];
  const notRun: string[] = [];
  let blocks = 0;
  for (let i = start + 1; i < end; i++) {
    if ((lines[i] as string).trim() !== '```sh') continue;
    blocks++;
    const block = `block ${blocks} (README.md line ${i + 1})`;
    const marker = /^<!-- tour: not run: (.+) -->$/.exec((lines[i - 1] as string).trim());
    let j = i + 1;
    while (j < end && (lines[j] as string).trim() !== '```') j++;
    assert.ok(j < end, `${block} has no closing fence`);
    if (marker) {
      notRun.push(`${block}: ${marker[1]}`);
      i = j;
      continue;
    }
    for (let k = i + 1; k < j; k++) {
      const first = k;
      let text = lines[k] as string;
      while (text.endsWith('\\') && k + 1 < j) text = `${text}\n${lines[++k]}`;
      const trimmed = text.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const command: TourCommand = { line: first + 1, block, text, exit: 0 };
      let skip: string | undefined;
      for (const [, tag] of text.matchAll(TAG)) {
        const t = tag as string;
        if (t.startsWith('exit ')) command.exit = Number(t.slice(5));
        else if (t.startsWith('http ')) command.http = t.slice(5).split('|').map(Number);
        else skip = t.slice('not run: '.length);
      }
      if (skip !== undefined) notRun.push(`README.md line ${first + 1}: ${skip}`);
      else commands.push(command);
    }
    i = j;
  }
  return { commands, notRun };
}

/** A bash string literal of `s` ($'...' quoting, so any byte survives). */
function quoted(s: string): string {
  return `$'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/**
 * The session: each command eval'd in the same shell (so `curl()`, `ID` and `ETAG` carry over),
 * its output kept in `<i>.out`; the session stops at the first command that ends otherwise than
 * its marker says, writing why to `failed`.
 */
function script(commands: TourCommand[], outDir: string): string {
  const out = [
    'set -o pipefail',
    `D=${quoted(outDir)}`,
    // $1 index, $2 exit code, $3 expected exit code, $4 allowed last statuses ('' = all < 400)
    '__tour_check() {',
    '  if [ "$2" != "$3" ]; then echo "exited $2, expected $3" > "$D/failed"; exit 90; fi',
    `  local codes; codes=$(grep -ao '\\[tour http [0-9]*\\]' "$D/$1.out" | tr -dc '0-9\\n')`,
    '  if [ -n "$4" ]; then',
    '    local last; last=$(printf "%s\\n" "$codes" | tail -n 1)',
    '    case " $4 " in *" $last "*) ;; *) echo "HTTP ${last:-none}, expected $4" > "$D/failed"; exit 90;; esac',
    '  else',
    '    for c in $codes; do',
    '      if [ "$c" -ge 400 ]; then echo "HTTP $c" > "$D/failed"; exit 90; fi',
    '    done',
    '  fi',
    '}',
  ];
  commands.forEach((c, i) => {
    out.push(
      `echo ${i} > "$D/current"`,
      `{ eval ${quoted(c.text)}; } > "$D/${i}.out" 2>&1 < /dev/null`,
      `__tour_check ${i} $? ${c.exit} '${(c.http ?? []).join(' ')}'`,
    );
  });
  out.push('echo done > "$D/current"');
  return `${out.join('\n')}\n`;
}

function runBash(
  file: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

test('the README Quick tour runs as written against a fresh local cloud', async (t) => {
  const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const { commands, notRun } = tourCommands(readme);
  assert.ok(commands.length >= 30, `only ${commands.length} tour commands found`);
  t.diagnostic(`${commands.length} commands; not run: ${notRun.join('; ') || 'none'}`);

  const dir = await tempDir('dsn-tour');
  const work = join(dir.path, 'tour');
  const bin = join(dir.path, 'bin');
  const outDir = join(dir.path, 'out');
  await Promise.all([mkdir(work), mkdir(bin), mkdir(outDir)]);
  let cloud: CloudProcess | undefined;
  try {
    cloud = await startCloudProcess(join(work, '.dsn'), { DSN_STAGE: 'local' });
    const port = new URL(cloud.api).port;

    const dsn = join(bin, 'dsn');
    await writeFile(
      dsn,
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(PROJECT_ROOT, 'bin/dsn.ts'))} "$@"\n`,
    );
    await chmod(dsn, 0o755);
    await writeFile(
      join(dir.path, '.curlrc'),
      [
        `connect-to = "localhost:3000:127.0.0.1:${port}"`,
        `connect-to = "127.0.0.1:3000:127.0.0.1:${port}"`,
        'write-out = "%{stderr}[tour http %{http_code}]\\n"',
        '',
      ].join('\n'),
    );
    const file = join(dir.path, 'tour.sh');
    await writeFile(file, script(commands, outDir));

    // The machine's environment minus anything of dsn's or AWS's that could point elsewhere.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!/^(DSN_|AWS_)/.test(k) && k !== 'CURL_HOME') env[k] = v;
    Object.assign(env, {
      PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      CURL_HOME: dir.path,
      DSN_ENDPOINT: cloud.api,
    });

    const { code, output } = await runBash(file, work, env);
    const current = (await readFile(join(outDir, 'current'), 'utf8')).trim();
    if (current !== 'done' || code !== 0) {
      const i = Number(current);
      const c = commands[i];
      const why = await readFile(join(outDir, 'failed'), 'utf8').catch(() => `bash exited ${code}`);
      const out = await readFile(join(outDir, `${i}.out`), 'utf8').catch(() => '');
      // The two commands before, whose output often says why (chaos before explain).
      let before = '';
      for (let p = Math.max(0, i - 2); p < i; p++)
        before += `$ ${commands[p]?.text}\n${await readFile(join(outDir, `${p}.out`), 'utf8')}\n`;
      assert.fail(
        c
          ? `${c.block}, README.md line ${c.line}: ${why.trim()}\n$ ${c.text}\n${out}${output}\n` +
              `before it:\n${before}`
          : `the tour stopped (${current}, bash exited ${code}): ${output}`,
      );
    }
  } finally {
    cloud?.child.kill('SIGTERM');
    if (cloud && cloud.child.exitCode === null)
      await new Promise((r) => cloud?.child.once('exit', r));
    await dir.remove();
  }
});

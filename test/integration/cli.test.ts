/**
 * The `dsn` CLI as a user runs it: a child process against a local cloud, with its output,
 * exit code and files checked. Progress bars are checked in a real terminal (tmux), and their
 * absence when output is piped.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
  eventually,
  everySliceStored,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';
import { hasCommand } from '../helpers/tools.ts';

const DSN = join(PROJECT_ROOT, 'bin', 'dsn.ts');
const MiB = 1024 * 1024;
/** What a cli-progress bar of ours looks like on screen: `|███░░░| 42%`. */
const BAR = /\|[\u2588\u2591]{10,}\| *\d+%/;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dsn ARGS` to completion, stdout and stderr captured (so neither is a TTY). */
function dsn(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [DSN, ...args],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, DSN_ENDPOINT: undefined, ...env },
        maxBuffer: 256 * MiB,
        encoding: 'buffer',
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number) : 0;
        resolve({ code, stdout: stdout.toString('latin1'), stderr: stderr.toString('utf8') });
      },
    );
  });
}

const hasTmux = () => hasCommand('tmux', ['-V']);

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

describe('the dsn CLI on a local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let big: Buffer;
  let bigPath: string;
  const endpoint = () => ['--endpoint', cloud.endpoints.api];
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);

  before(async () => {
    dir = await tempDir('dsn-cli');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    big = randomBytes(50 * MiB);
    bigPath = join(dir.path, 'big.bin');
    await writeFile(bigPath, big);
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('a 50 MiB file round-trips byte-exact through put and get, and --json output parses', async () => {
    // Act
    // --via server: the staged path (from 8 MiB, dsn put disperses on the client by default;
    // test/integration/uplink.test.ts covers that path).
    const put = await dsn([
      ...endpoint(),
      '--json',
      'put',
      bigPath,
      'default/cli/big.bin',
      '--via',
      'server',
    ]);
    const out = join(dir.path, 'big.out');
    const get = await dsn([...endpoint(), '--json', 'get', 'default/cli/big.bin', out]);

    // Assess
    assert.equal(put.code, 0, put.stderr);
    const stored = JSON.parse(put.stdout) as Record<string, unknown>;
    assert.equal(stored.size, big.length);
    assert.equal(stored.staged, true, 'over 4 MiB, the server path is a staged upload');
    assert.equal(stored.uplink, false);
    assert.equal(stored.parts, 13);
    assert.equal(get.code, 0, get.stderr);
    const got = JSON.parse(get.stdout) as Record<string, unknown>;
    assert.equal(got.revision, stored.revision);
    assert.equal(got.sha256, stored.sha256);
    assert.ok((await readFile(out)).equals(big), 'the file read back is byte-identical');
    assert.doesNotMatch(put.stdout + put.stderr + get.stdout + get.stderr, /\r|\u2588/);
  });

  test('small objects: a plain PUT, ls with --json, get to stdout, rm', async () => {
    // Prepare
    const small = randomBytes(1000);
    const smallPath = join(dir.path, 'small.bin');
    await writeFile(smallPath, small);

    // Act: DSN_ENDPOINT instead of --endpoint, and a target of VAULT/DIR/ that takes the name.
    const env = { DSN_ENDPOINT: cloud.endpoints.api };
    const put = await dsn(['put', smallPath, 'default/cli/small/'], env);
    const ls = await dsn(['ls', 'default/cli/small/', '--json'], env);
    const cat = await dsn(['get', 'default/cli/small/small.bin'], env);
    const rm = await dsn(['rm', 'default/cli/small/small.bin'], env);
    const gone = await dsn(['ls', 'default/cli/small/', '--json'], env);

    // Assess
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /^put .* -> default\/cli\/small\/small\.bin: .*one PUT/);
    assert.equal(ls.code, 0, ls.stderr);
    const listed = JSON.parse(ls.stdout) as { objects: Array<{ key: string; size: number }> };
    assert.deepEqual(
      listed.objects.map((o) => [o.key, o.size]),
      [['cli/small/small.bin', 1000]],
    );
    assert.equal(cat.code, 0, cat.stderr);
    assert.ok(Buffer.from(cat.stdout, 'latin1').equals(small), 'stdout carries exactly the bytes');
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual((JSON.parse(gone.stdout) as { objects: unknown[] }).objects, []);
  });

  test('put - reads stdin in parts: 9 MiB piped in comes back byte-exact', async () => {
    // Prepare: above one call's 4 MiB, so the stdin stream is cut into staged parts.
    const body = randomBytes(9 * MiB + 123);
    const env = { DSN_ENDPOINT: cloud.endpoints.api };

    // Act
    const put = await new Promise<Run>((resolve) => {
      const child = execFile(
        process.execPath,
        [DSN, 'put', '-', 'default/cli/stdin.bin', '--json'],
        { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: 'buffer' },
        (err, stdout, stderr) =>
          resolve({
            code: err ? ((err as { code?: unknown }).code as number) : 0,
            stdout: stdout.toString('utf8'),
            stderr: stderr.toString('utf8'),
          }),
      );
      child.stdin?.end(body);
    });
    const got = await dsn(['get', 'default/cli/stdin.bin'], env);

    // Assess
    assert.equal(put.code, 0, put.stderr);
    const out = JSON.parse(put.stdout) as { size: number; parts?: number };
    assert.equal(out.size, body.length);
    assert.equal(out.parts, 3);
    assert.equal(got.code, 0, got.stderr);
    assert.ok(Buffer.from(got.stdout, 'latin1').equals(body), 'the bytes piped in come back');
  });

  test('a terminal shows progress bars (tmux); piped output has none', async (t) => {
    if (!hasTmux()) {
      t.skip('tmux is not installed: the terminal rendering cannot be checked');
      return;
    }
    const session = `dsn-cli-test-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
    const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-100', '-t', session);
    const base = `${shellQuote(process.execPath)} ${shellQuote(DSN)} --endpoint ${cloud.endpoints.api}`;
    /** Types a command, polls the screen until it ends; returns every screen seen after `marker`. */
    const runInTerminal = async (marker: string, command: string) => {
      tmux(
        'send-keys',
        '-t',
        session,
        `clear; echo ${marker}; ${command}; echo ${marker}-EXIT=$?`,
        'Enter',
      );
      const seen: string[] = [];
      const done = new RegExp(`${marker}-EXIT=(\\d+)`);
      const exit = await eventually(
        async () => {
          // After `clear` the marker may be the first line of the capture.
          const text = `\n${screen()}`;
          const at = text.lastIndexOf(`\n${marker}\n`);
          if (at < 0) return undefined;
          const after = text.slice(at);
          seen.push(after);
          return done.exec(after)?.[1];
        },
        `"${command}" to finish in tmux`,
        90_000,
      );
      return { exit: Number(exit), seen };
    };
    // sh, whatever the login shell: the typed commands use its syntax.
    tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '40', '-c', dir.path, 'sh');
    try {
      // Act: a put that outlasts its delay. Not the default second: with the client
      // dispersing, 50 MiB can commit in under a second here (the delay itself is a unit test).
      const put = await runInTerminal(
        'PUT',
        `DSN_PROGRESS_DELAY_MS=100 ${base} put ${shellQuote(bigPath)} default/cli/tty.bin`,
      );
      const get = await runInTerminal(
        'GET',
        `DSN_PROGRESS_DELAY_MS=0 ${base} get default/cli/tty.bin tty.out`,
      );
      // No delay, so only the TTY check can keep the bar away.
      const piped = await runInTerminal(
        'PIPED',
        `DSN_PROGRESS_DELAY_MS=0 ${base} get default/cli/tty.bin piped.out | cat`,
      );

      // Assess
      assert.equal(put.exit, 0, put.seen.at(-1));
      assert.ok(
        put.seen.some((s) => BAR.test(s)),
        `a bar was drawn during the put; last screen:\n${put.seen.at(-1)}`,
      );
      assert.match(put.seen.at(-1) ?? '', /put .* -> default\/cli\/tty\.bin: 50\.0 MiB/);
      // What a put killed outright needs to be resumed, on the terminal only.
      assert.match(
        put.seen.at(-1) ?? '',
        /dsn: dispersing as revision (\w+); should this put stop, add --resume \1 to resume it/,
      );
      assert.equal(get.exit, 0, get.seen.at(-1));
      assert.ok(
        get.seen.some((s) => BAR.test(s)),
        `a bar was drawn during the get`,
      );
      assert.ok((await readFile(join(dir.path, 'tty.out'))).equals(big));
      assert.equal(piped.exit, 0, piped.seen.at(-1));
      for (const s of piped.seen) {
        assert.doesNotMatch(s, /[\u2588\u2591]|\d+%/, 'no bar when stdout is a pipe');
      }
      assert.match(piped.seen.at(-1) ?? '', /got default\/cli\/tty\.bin -> piped\.out/);
    } finally {
      tmux('kill-session', '-t', session);
    }
  });

  test('failures print one line and exit 1, a stack only with --debug; usage errors exit 2', async () => {
    // Prepare: a port nothing listens on.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    const file = join(dir.path, 'one.bin');
    await writeFile(file, 'x');

    // Act
    const missing = await dsn([...endpoint(), 'put', file, 'nosuch/a.bin']);
    const debug = await dsn([...endpoint(), '--debug', 'put', file, 'nosuch/a.bin']);
    const noKey = await dsn([...endpoint(), 'get', 'default/cli/none.bin']);
    const usage = await dsn([...endpoint(), 'put', file]);
    const badMode = await dsn([...endpoint(), 'unit', 'down', '1', '--mode', 'melted']);
    const badTarget = await dsn([...endpoint(), 'rm', 'no-slash']);
    const badUnit = await dsn([...endpoint(), 'unit', 'up', 'abc']);
    const unreachable = await dsn(['--endpoint', `http://127.0.0.1:${port}`, 'vault', 'ls']);
    const notLocal = await dsn([
      '--endpoint',
      cloud.endpoints.s3,
      'unit',
      'down',
      '1',
      '--mode',
      'read-fail',
    ]);
    const json = await dsn([...endpoint(), '--json', 'vault', 'show', 'nosuch']);
    // A key a URL would resolve to another (`x/..`), and a get to where no file can be made.
    assert.equal((await dsn([...endpoint(), 'put', file, 'default/cli/one.bin'])).code, 0);
    const dotted = await dsn([...endpoint(), 'rm', 'default/cli/x/../one.bin']);
    const noFolder = await dsn([
      ...endpoint(),
      'get',
      'default/cli/one.bin',
      join(dir.path, 'missing', 'out.bin'),
    ]);
    const into = join(dir.path, 'into');
    await mkdir(into);
    const intoFolder = await dsn([...endpoint(), 'get', 'default/cli/one.bin', into]);
    // A work item that fails (one.bin is no gzip), waited for with --json: one document.
    const added = await dsn([
      ...endpoint(),
      '--json',
      'work',
      'add',
      'default',
      'decompress',
      '--arg',
      'key=cli/one.bin',
      '--arg',
      'output=cli/one.out',
      '--arg',
      'codec=gzip',
    ]);
    const item = (JSON.parse(added.stdout) as { id: string }).id;
    const waited = await dsn([...endpoint(), '--json', 'work', 'wait', 'default', item]);

    // Assess
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trimEnd().split('\n').length, 1, missing.stderr);
    assert.match(
      missing.stderr,
      /^dsn: put .* nosuch\/a\.bin failed: vault "nosuch" does not exist \(404 VaultNotFound\)\. Create it with: dsn vault create nosuch/,
    );
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    assert.equal(debug.code, 1);
    assert.match(debug.stderr, /\n\s+at .*bin\/client\.ts/, 'a stack with --debug');
    assert.equal(noKey.code, 1);
    assert.match(
      noKey.stderr,
      /no object "cli\/none\.bin" in vault "default" \(404 ObjectNotFound\)/,
    );
    assert.match(
      dotted.stderr,
      /a key must not contain "\.\." path segments, got "cli\/x\/\.\.\/one\.bin"/,
    );
    const kept = await dsn([...endpoint(), 'get', 'default/cli/one.bin', '-']);
    assert.equal(kept.stdout, 'x', 'nothing removed by the dotted key');
    assert.equal(noFolder.code, 1, noFolder.stderr);
    assert.match(noFolder.stderr, /cannot write .*missing\/out\.bin\.partial: ENOENT/);
    assert.equal(intoFolder.code, 0, intoFolder.stderr);
    assert.equal(
      await readFile(join(into, 'one.bin'), 'utf8'),
      'x',
      "a folder takes the key's name",
    );
    assert.equal(waited.code, 1, waited.stderr);
    const waitedDoc = JSON.parse(waited.stdout) as { items: Array<{ state: string }> };
    assert.deepEqual(
      waitedDoc.items.map((i) => i.state),
      ['failed'],
      'stdout is the one document of the items, no error document after it',
    );
    assert.match(waited.stderr, /1 item\(s\) did not finish done/);
    for (const run of [usage, badMode, badTarget, badUnit, dotted]) {
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, /^dsn: /);
    }
    assert.equal(unreachable.code, 1);
    assert.match(
      unreachable.stderr,
      new RegExp(
        `^dsn: vault ls failed: cannot reach http://127\\.0\\.0\\.1:${port}.*is the local cloud running\\? \\(npm start\\)\\n$`,
      ),
    );
    assert.equal(notLocal.code, 1);
    assert.match(notLocal.stderr, /fault injection exists only on the local cloud/);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as { error: { status: number } }).error.status, 404);
  });

  test('a unit down for reads and rotted slices leave reads exact; explain sees the rot and rebuild repairs it', async () => {
    // Prepare: k = 2 of 6, so no choice of three rotted slices can make a segment unreadable.
    const env = { DSN_ENDPOINT: cloud.endpoints.api };
    const created = await dsn(
      [
        'vault',
        'create',
        'rot',
        '--width',
        '6',
        '--read-threshold',
        '2',
        '--write-threshold',
        '5',
        '--segment-size',
        '64KiB',
        '--units',
        '0,1,2,3,4,5',
      ],
      env,
    );
    assert.equal(created.code, 0, created.stderr);
    const body = randomBytes(MiB + 4321);
    const file = join(dir.path, 'rot.bin');
    await writeFile(file, body);
    assert.equal((await dsn(['put', file, 'rot/obj.bin'], env)).code, 0);
    const readBack = async () => {
      const got = await dsn(['get', 'rot/obj.bin'], env);
      assert.equal(got.code, 0, got.stderr);
      return Buffer.from(got.stdout, 'latin1');
    };

    // Act + Assess: a one-segment put makes exactly one PUT per unit bucket. The counts start
    // once the last put's slices are all stored: its commit needed five units, not six.
    await everySliceStored(api, 'rot', 'obj.bin');
    await api('/admin/requests', { method: 'DELETE' });
    const one = join(dir.path, 'one-segment.bin');
    await writeFile(one, randomBytes(1000));
    assert.equal((await dsn(['put', one, 'rot/one.bin'], env)).code, 0);
    const puts = await eventually(async () => {
      const { units } = (await (await api('/admin/requests')).json()) as {
        units: Array<{ unit: number; put: number }>;
      };
      const ours = units.filter((u) => u.unit <= 5);
      return ours.every((u) => u.put >= 1) ? ours.map((u) => u.put) : undefined;
    }, 'every unit of the vault to store its slice');
    assert.deepEqual(puts, [1, 1, 1, 1, 1, 1]);

    // Act + Assess: unit 2 refuses reads.
    const down = await dsn(['unit', 'down', '2', '--mode', 'read-fail'], env);
    assert.equal(down.code, 0, down.stderr);
    const listed = JSON.parse((await dsn(['unit', 'ls', '--json'], env)).stdout) as {
      units: Array<{ unit: number; fault: { mode: string } | null }>;
    };
    assert.equal(listed.units.find((u) => u.unit === 2)?.fault?.mode, 'read-fail');
    assert.ok((await readBack()).equals(body), 'exact with unit 2 refusing reads');
    assert.equal((await dsn(['unit', 'up', '2'], env)).code, 0);

    // Act: rot three slices, twice with the same seed (which flips the same bytes back), then again.
    const chaos = async () => {
      const run = await dsn(
        ['chaos', '--slices', '3', '--vault', 'rot', '--seed', '1', '--json'],
        env,
      );
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout) as {
        requested: number;
        flipped: Array<{
          unit: number;
          bucket: string;
          key: string;
          offset: number;
          objectKey: string | null;
        }>;
      };
    };
    const raw = async (f: { bucket: string; key: string }) =>
      Buffer.from(await (await fetch(`${cloud.endpoints.s3}/${f.bucket}/${f.key}`)).arrayBuffer());
    const first = await chaos();
    const rotted = await Promise.all(first.flipped.map(raw));
    const second = await chaos();
    const healed = await Promise.all(second.flipped.map(raw));
    const third = await chaos();
    await api('/admin/requests', { method: 'DELETE' });
    const afterRot = await readBack();
    const counts = (await (await api('/admin/requests')).json()) as {
      units: Array<{ unit: number; put: number; get: number }>;
    };

    // Assess: S3 GETs return the flipped byte (nothing cached), at an offset inside the slice.
    assert.equal(first.requested, 3);
    assert.equal(first.flipped.length, 3);
    assert.equal(new Set(first.flipped.map((f) => f.key)).size, 3, 'three distinct slices');
    assert.deepEqual(second.flipped, first.flipped, 'a seed repeats its choice');
    assert.deepEqual(third.flipped, first.flipped);
    first.flipped.forEach((f, i) => {
      const a = rotted[i] as Buffer;
      const b = healed[i] as Buffer;
      assert.ok(f.key.startsWith('rot/'));
      assert.equal(f.objectKey, 'obj.bin', 'chaos names the object it hit');
      assert.ok(f.offset < a.length, 'the offset lands inside the slice');
      const differing = [...a.keys()].filter((j) => a[j] !== b[j]);
      assert.deepEqual(differing, [f.offset], 'exactly the reported byte differs');
      assert.equal(((a[f.offset] as number) ^ (b[f.offset] as number)) & 0xff, 0xff);
    });
    assert.ok(afterRot.equals(body), 'the reader falls back to other pillars');
    const rotUnits = counts.units.filter((u) => u.unit <= 5);
    assert.ok(
      rotUnits.every((u) => u.put === 0),
      'a read writes nothing',
    );
    assert.ok(rotUnits.reduce((n, u) => n + u.get, 0) >= 17 * 2, 'k slices read per segment');

    // Act: explain, rebuild, explain again.
    // Exit status 0 healthy, 3 degraded, 4 lost, as fsck-style tools answer.
    const explain = async (code: number) => {
      const run = await dsn(['explain', 'rot/obj.bin', '--json'], env);
      assert.equal(run.code, code, run.stderr);
      return JSON.parse(run.stdout) as {
        verdict: string;
        segments: Array<{ pillars: Array<{ key: string; defect?: string }> }>;
      };
    };
    const before = await explain(3);
    const human = await dsn(['explain', 'rot/obj.bin', '--verbose'], env);
    const rebuild = await dsn(['rebuild', 'rot', '--watch', '--json'], env);
    const afterRebuild = await explain(0);
    // Five of six units refusing reads leave one slice per segment, below k = 2.
    for (const unit of [1, 2, 3, 4, 5])
      assert.equal((await dsn(['unit', 'down', String(unit), '--mode', 'read-fail'], env)).code, 0);
    const whileDown = await explain(4);
    for (const unit of [1, 2, 3, 4, 5])
      assert.equal((await dsn(['unit', 'up', String(unit)], env)).code, 0);

    // Assess
    const defective = before.segments.flatMap((s) =>
      s.pillars.filter((p) => p.defect).map((p) => p.key),
    );
    assert.deepEqual(defective.sort(), first.flipped.map((f) => f.key).sort());
    assert.equal(before.verdict, 'degraded');
    assert.match(human.stdout, /^rot\/obj\.bin: DEGRADED/);
    assert.match(human.stdout, /defects:/);
    assert.equal(rebuild.code, 0, rebuild.stderr);
    const job = JSON.parse(rebuild.stdout) as {
      state: string;
      slicesRepaired: number;
      segmentsLost: number;
    };
    assert.equal(job.state, 'done');
    assert.equal(job.segmentsLost, 0);
    assert.ok(job.slicesRepaired >= 3, JSON.stringify(job));
    assert.equal(afterRebuild.verdict, 'healthy');
    assert.equal(whileDown.verdict, 'lost');
    assert.equal(human.code, 3);
  });
});

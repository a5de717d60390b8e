/**
 * bench:dsn's large-file rows: `dsn put` of a 256 MiB file end to end, by client-side dispersal
 * (the CLI as a user runs it: encode, slices straight to the unit buckets, claim-check
 * multicast, commit), against `aws s3 cp` of the same file to one bucket of the same emulator
 * (the AWS CLI, multipart as it does by default), and the same file through the server-side
 * staged path (`dsn put --via server`: 4 MiB parts through the API, then the disperser). Then
 * the way back: `dsn get` of the dispersed file to a file by the downlink (the client reads the
 * slices from the units' buckets itself) and through the API (`--via server`: 4 MiB ranges,
 * three in flight) against `aws s3 cp` of the raw copy from its bucket.
 * Each round runs its runs back to back, in an order that alternates, so load on a shared
 * machine slows a round alike; figures are medians over rounds. A `dsn put`'s associated tasks
 * (the scan that reads a client's dispersal back) finish, untimed, before the next run.
 *
 * Each run starts from an empty page cache when this process may empty it (root on Linux):
 * `sync`, then `1` into /proc/sys/vm/drop_caches, untimed. Without it, the time of a run
 * depends on the runs before it, not on what it does. On the VM this was measured on (Firecracker,
 * free page reporting), the emulator's kernel time to put new file pages in the cache grows once
 * the cache has taken a gigabyte or two: `aws s3 cp` of the file (512 MiB of new pages in the
 * emulator, its parts and the completed object) took 2.2 s in a fresh cloud, 3.7-5.8 s after a
 * few runs with 1.7-3.8 s of the emulator's CPU in the kernel, `sync` alone did not help, and
 * 2.5-2.8 s after dropping the cache, every time.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MiB = 1024 * 1024;
const DSN = fileURLToPath(new URL('../bin/dsn.ts', import.meta.url));

/** Seconds `command args` took to exit 0, with its peak RSS when it is a Node process. */
function timed(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ seconds: number; maxRss: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, maxBuffer: 16 * MiB }, (err, _stdout, stderr) => {
      if (err) return reject(new Error(`${command} ${args.join(' ')}: ${stderr || err.message}`));
      const kb = Number(/maxrss=(\d+)/.exec(stderr)?.[1] ?? 0);
      resolve({ seconds: (performance.now() - started) / 1000, maxRss: kb * 1024 });
    });
  });
}

const DROP_CACHES = '/proc/sys/vm/drop_caches';

/**
 * Empties the page cache (after writing back what is dirty) and resolves true, or resolves
 * false at once when this process may not (not root, not Linux).
 */
export async function dropPageCache(): Promise<boolean> {
  try {
    await access(DROP_CACHES, constants.W_OK);
  } catch {
    return false;
  }
  await new Promise<void>((resolve, reject) =>
    execFile('sync', (err) => (err ? reject(err) : resolve())),
  );
  await writeFile(DROP_CACHES, '1');
  return true;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** The rows, as markdown table lines of bench:dsn's table. */
export async function uplinkRows(opts: {
  apiUrl: string;
  s3Url: string;
  /** The bucket `aws s3 cp` writes to: one unit's bucket of the same emulator. */
  bucket: string;
  rounds: number;
  /**
   * Resolves once the write of `key` (in the default vault) has run its associated tasks. A
   * `dsn put` returns at the commit, and a client's dispersal is then read back by the scan
   * task: untimed, it finishes before the next run, which would otherwise pay for it.
   */
  settle: (key: string) => Promise<void>;
}): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'dsn-bench-uplink-'));
  try {
    const file = join(dir, '256mib.bin');
    const out = createWriteStream(file);
    for (let i = 0; i < 256; i++) out.write(randomBytes(MiB));
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    const env = { ...process.env, DSN_ENDPOINT: opts.apiUrl };
    const awsEnv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_DEFAULT_REGION: 'us-east-1',
    };
    // VmHWM: the peak of this process's own memory. getrusage's maxRSS would not do: Linux carries
    // it over from the parent that forked it, which here holds a whole local cloud.
    const report =
      'data:text/javascript,process.on("exit",()=>{const s=process.getBuiltinModule("node:fs").readFileSync("/proc/self/status","utf8");process.stderr.write(`maxrss=${/VmHWM:\\s+(\\d+)/.exec(s)[1]}\\n`)})';
    const uplink: number[] = [];
    const raw: number[] = [];
    const staged: number[] = [];
    let rss = 0;
    let dropped = true;
    /** A run timed from an emptied page cache (when this process may empty it). */
    const fromEmptyCache = async (
      command: string,
      args: string[],
      runEnv: Record<string, string | undefined>,
    ) => {
      dropped = (await dropPageCache()) && dropped;
      return timed(command, args, runEnv);
    };
    const dsn = (args: string[], node: string[] = []) =>
      fromEmptyCache(process.execPath, [...node, DSN, ...args, '--no-progress'], env);
    const awsCp = (from: string, to: string) =>
      fromEmptyCache(
        'aws',
        ['s3', 'cp', '--quiet', '--endpoint-url', opts.s3Url, from, to],
        awsEnv,
      );
    for (let round = 0; round < opts.rounds; round++) {
      const runs = [
        async () => {
          const key = `bench/uplink-${round}.bin`;
          const r = await dsn(
            ['put', file, `default/${key}`, '--via', 'uplink'],
            ['--import', report],
          );
          uplink.push(r.seconds);
          rss = Math.max(rss, r.maxRss);
          await opts.settle(key);
        },
        async () => {
          raw.push((await awsCp(file, `s3://${opts.bucket}/raw-256/${round}.bin`)).seconds);
        },
        async () => {
          const key = `bench/staged-${round}.bin`;
          staged.push((await dsn(['put', file, `default/${key}`, '--via', 'server'])).seconds);
          await opts.settle(key);
        },
      ];
      for (const run of round % 2 === 0 ? runs : runs.reverse()) await run();
    }
    // The way back: the file each side wrote, read to a file of this folder by `dsn get` (by
    // the downlink, and by ranges through the API) and by `aws s3 cp` from the bucket.
    const gotDsn: number[] = [];
    const gotServer: number[] = [];
    const gotRaw: number[] = [];
    const back = join(dir, 'back.bin');
    for (let round = 0; round < opts.rounds; round++) {
      const source = `default/bench/uplink-${round}.bin`;
      const runs = [
        async () => {
          gotDsn.push((await dsn(['get', source, back, '--via', 'downlink'])).seconds);
        },
        async () => {
          gotServer.push((await dsn(['get', source, back, '--via', 'server'])).seconds);
        },
        async () => {
          gotRaw.push((await awsCp(`s3://${opts.bucket}/raw-256/${round}.bin`, back)).seconds);
        },
      ];
      for (const run of round % 2 === 0 ? runs : runs.reverse()) {
        await run();
        await rm(back, { force: true });
      }
    }
    const mbps = (s: number) => `${(256 / s).toFixed(0)} MB/s (${s.toFixed(1)} s)`;
    const ratio = (s: number) => median(raw) / s;
    const cache = dropped
      ? 'page cache emptied before each run'
      : 'page cache NOT emptied before each run (needs root): the times depend on the runs before';
    return [
      `| \`dsn put\` of a 256 MiB file, end to end, client-side dispersal (median of ${opts.rounds}; writer peak RSS ${(rss / MiB).toFixed(0)} MB; ${cache}) | ${mbps(median(uplink))} | \`aws s3 cp\` to one bucket: ${mbps(median(raw))} | ${ratio(median(uplink)).toFixed(2)}x | >= 0.5x ${ratio(median(uplink)) >= 0.5 ? 'met' : 'MISSED'} |`,
      `| the same through the server-side staged path (\`--via server\`) | ${mbps(median(staged))} | \`aws s3 cp\`: ${mbps(median(raw))} | ${ratio(median(staged)).toFixed(2)}x | (printed) |`,
      `| \`dsn get\` of the same 256 MiB to a file, end to end, client-side read (the downlink; median of ${opts.rounds}) | ${mbps(median(gotDsn))} | \`aws s3 cp\` from the bucket: ${mbps(median(gotRaw))} | ${(median(gotRaw) / median(gotDsn)).toFixed(2)}x | (printed) |`,
      `| the same through the API's 4 MiB ranges (\`--via server\`) | ${mbps(median(gotServer))} | \`aws s3 cp\`: ${mbps(median(gotRaw))} | ${(median(gotRaw) / median(gotServer)).toFixed(2)}x | (printed) |`,
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

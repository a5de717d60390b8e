/**
 * Moving objects: `put` streams a file or stdin in parts of at most one call's size (a plain
 * PUT when it fits in one, a staged upload otherwise) or disperses it itself (client/uplink.ts),
 * and `get` reads ranges in order with a small read-ahead, or the slices themselves
 * (client/downlink.ts), hashing as it writes. Neither holds more than a few parts in memory.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DownlinkOptions, DownlinkStats } from '../client/downlink.ts';
import { cutSegments } from '../shared/codec/segment-stream.ts';
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
import type { Progress, ProgressFor } from './progress.ts';

/** Parts uploaded at once; a third is read from disk meanwhile. */
const PARALLEL_PARTS = 2;
/** Ranges fetched ahead of the one being written. */
const READ_AHEAD = 2;
const POLL_MS = 200;

export interface PutResult {
  vault: string;
  key: string;
  revision: string;
  size: number;
  sha256: string;
  /** Whether it went through a staged upload (more than one call's worth). */
  staged: boolean;
  /** Whether the client dispersed it itself (slices straight to the units' buckets). */
  uplink: boolean;
  /** Segments it encoded, when it did; slice PUTs it sent again. */
  segments?: number;
  resent?: number;
  uploadId?: string;
  parts?: number;
  seconds: number;
}

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

interface Committed {
  revision: string;
  size: number;
  sha256: string;
}

/** How far a write has come, as a revision or a staged upload reports it. */
interface WriteState {
  state: string;
  revision?: string;
  size?: number;
  sha256?: string;
  reason?: string;
  failedUnits?: number[];
}

/**
 * Polls a pending revision until it is committed (or committed and already replaced by a newer
 * write, which the ledger calls garbage). @throws ApiError when it failed.
 */
async function awaitRevision(
  client: DsnClient,
  vault: string,
  revision: string,
): Promise<Committed> {
  for (;;) {
    const r = await client.json<WriteState>('GET', `${vaultPath(vault)}/revisions/${revision}`);
    if (r.state === 'committed' || r.state === 'garbage')
      return { revision, size: r.size ?? 0, sha256: r.sha256 ?? '' };
    if (r.state === 'failed') throw writeFailed(revision, r.reason, r.failedUnits);
    await sleep(POLL_MS);
  }
}

function writeFailed(revision: string, reason?: string, failedUnits?: number[]): ApiError {
  return new ApiError(
    503,
    'WriteThresholdNotMet',
    `write ${revision} failed: ${reason ?? 'no reason given'}; units that failed: ${failedUnits?.join(', ') || 'none reported'}`,
    { revision, failedUnits },
  );
}

/**
 * From this size up, `dsn put` disperses on the client (one default segment): below it, one
 * PUT or a small staged upload costs fewer requests than a dispersal's four calls.
 */
export const UPLINK_THRESHOLD = 8 * 1024 * 1024;

/** Which path a put takes: by size (`auto`), client-side dispersal, or through the API. */
export type PutPath = 'auto' | 'uplink' | 'server';

/**
 * Uploads `source` (a file path, or `-` for stdin) to vault/key: files of UPLINK_THRESHOLD
 * and more by client-side dispersal, unless `via` says otherwise (stdin goes through the API
 * unless `via` is `uplink`, since its size is not known in advance).
 * @throws ApiError, CliError
 */
export async function putObject(
  client: DsnClient,
  source: string,
  vault: string,
  key: string,
  progressFor: ProgressFor,
  via: PutPath = 'auto',
): Promise<PutResult> {
  const started = performance.now();
  let total: number | undefined;
  if (source !== '-') {
    const info = await stat(source).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(
        `cannot read ${source}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
        {
          cause: err,
        },
      );
    });
    if (!info.isFile()) throw new CliError(`${source} is not a regular file`);
    total = info.size;
  }
  if (via === 'uplink' || (via === 'auto' && total !== undefined && total >= UPLINK_THRESHOLD))
    return putByUplink(client, source, vault, key, progressFor(total), started);
  // Cut as the writer cuts segments: full parts, the last one shorter, read one at a time.
  const parts = cutSegments(source === '-' ? process.stdin : createReadStream(source), CALL_LIMIT);
  const hash = createHash('sha256');
  const first = (await parts.next()).value ?? Buffer.alloc(0);
  hash.update(first);
  // A part shorter than the limit is the last; a full one may be followed by more.
  const second =
    first.length === CALL_LIMIT ? await parts.next() : { done: true as const, value: undefined };
  const progress = progressFor(total);
  try {
    let committed: Committed;
    let staged: Pick<PutResult, 'uploadId' | 'parts'> | undefined;
    if (second.done) {
      progress.update(0, 'uploading');
      const res = await client.request('PUT', objectPath(vault, key), {
        body: first,
      });
      const body = (await res.json()) as Committed & { state?: string };
      progress.update(first.length);
      if (res.status === 202) {
        progress.update(first.length, 'committing');
        committed = await awaitRevision(client, vault, body.revision);
      } else {
        committed = body;
      }
    } else {
      hash.update(second.value);
      const { uploadId } = await client.json<{ uploadId: string }>(
        'POST',
        `${vaultPath(vault)}/uploads`,
        {
          body: { key },
        },
      );
      let sent = 0;
      let count = 0;
      progress.update(0, 'uploading');
      const inflight = new Set<Promise<void>>();
      const send = (n: number, body: Uint8Array) => {
        const p = client
          .request('PUT', `${vaultPath(vault)}/uploads/${uploadId}/parts/${n}`, { body })
          .then(async (res) => {
            await res.arrayBuffer();
            sent += body.length;
            progress.update(sent);
          });
        // A failure is rethrown where the promise is awaited; this only keeps it from being unhandled.
        p.catch(() => {});
        inflight.add(p);
        p.finally(() => inflight.delete(p)).catch(() => {});
      };
      send(++count, first);
      send(++count, second.value);
      for await (const part of parts) {
        hash.update(part);
        while (inflight.size >= PARALLEL_PARTS) await Promise.race(inflight);
        send(++count, part);
      }
      await Promise.all(inflight);
      progress.update(sent, 'dispersing');
      await client.json('POST', `${vaultPath(vault)}/uploads/${uploadId}/complete`);
      for (;;) {
        const u = await client.json<WriteState>('GET', `${vaultPath(vault)}/uploads/${uploadId}`);
        if (u.state === 'committed') {
          committed = { revision: u.revision ?? '', size: u.size ?? sent, sha256: u.sha256 ?? '' };
          break;
        }
        if (u.state === 'failed')
          throw writeFailed(u.revision ?? uploadId, u.reason, u.failedUnits);
        if (u.state === 'pending' && u.revision) {
          progress.update(sent, 'committing');
          committed = await awaitRevision(client, vault, u.revision);
          break;
        }
        await sleep(POLL_MS);
      }
      staged = { uploadId, parts: count };
    }
    const sha256 = hash.digest('hex');
    if (committed.sha256 && committed.sha256 !== sha256) {
      throw new CliError(
        `the stored object's sha256 ${committed.sha256} differs from the data sent (${sha256})`,
        { hint: `the data changed while it was read, or was damaged on the way; put it again` },
      );
    }
    return {
      vault,
      key,
      revision: committed.revision,
      size: committed.size,
      sha256,
      staged: staged !== undefined,
      uplink: false,
      ...staged,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    progress.stop();
    await parts.return(undefined);
  }
}

/** A put by client-side dispersal (client/uplink.ts), then the commit awaited if it was slow. */
async function putByUplink(
  client: DsnClient,
  source: string,
  vault: string,
  key: string,
  progress: Progress,
  started: number,
): Promise<PutResult> {
  const { uplinkPut } = await import('../client/uplink.ts');
  progress.update(0, 'dispersing');
  try {
    const done = await uplinkPut(
      client,
      source === '-' ? process.stdin : createReadStream(source, { highWaterMark: 1024 * 1024 }),
      vault,
      key,
      { onProgress: (bytes) => progress.update(bytes) },
    ).catch((err) => {
      throw asCliError(err);
    });
    if (done.state === 'pending') {
      progress.update(done.size, 'committing');
      await awaitRevision(client, vault, done.revision);
    }
    return {
      vault,
      key,
      revision: done.revision,
      size: done.size,
      sha256: done.sha256,
      staged: false,
      uplink: true,
      segments: done.segments,
      resent: done.resent,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    progress.stop();
  }
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

/**
 * Downloads vault/key to `dest` (a path, or `-` for stdout), checking its sha256: objects of
 * DOWNLINK_THRESHOLD and more by the client's own read of their slices, unless `via` says
 * otherwise, smaller ones by ranges through the API. A file is written as `dest.partial` and
 * renamed once complete and verified.
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
  const target = toStdout ? '-' : `${dest}.partial`;
  const out = toStdout ? process.stdout : createWriteStream(target);
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
      if (!out.write(body)) await once(out, 'drain');
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
    progress.stop();
    if (failed && !toStdout) {
      out.destroy();
      await rm(target, { force: true });
    }
  }
}

/**
 * `dsn put`: streams a file or stdin in parts of at most one call's size (a plain PUT when it
 * fits in one, a staged upload otherwise), or disperses it itself from UPLINK_THRESHOLD
 * (client/uplink.ts), hashing as it reads. It never holds more than a few parts in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForRevision, writeFailed } from '../client/dsn-client.ts';
import type { UplinkOptions } from '../client/uplink.ts';
import { cutSegments } from '../shared/codec/segment-stream.ts';
import {
  asCliError,
  CALL_LIMIT,
  type DsnClient,
  isUnitsUnreachable,
  objectPath,
  vaultPath,
} from './client.ts';
import { ApiError, CliError, InterruptedError, UnreachableError } from './errors.ts';
import { dispersingPhase } from './format.ts';
import type { Progress, ProgressFor } from './progress.ts';

/** Parts uploaded at once; a third is read from disk meanwhile. */
const PARALLEL_PARTS = 2;
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
  /** Segments a resumed dispersal found done (`--resume`), not placed again. */
  skipped?: number;
  uploadId?: string;
  parts?: number;
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
  /** A staged upload dispersed in steps: the bytes its steps dispersed so far. */
  dispersed?: number;
}

/**
 * Polls a pending revision until it is committed (or committed and already replaced by a newer
 * write, which the ledger calls garbage), as the SDK does. @throws ApiError when it failed.
 */
function awaitRevision(
  client: DsnClient,
  vault: string,
  revision: string,
  signal?: AbortSignal,
): Promise<Committed> {
  return waitForRevision(client, vault, revision, POLL_MS, signal).catch((err) => {
    throw asCliError(err);
  });
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
  uplink: Pick<UplinkOptions, 'putSlice' | 'resume'> = {},
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
  if (
    via === 'uplink' ||
    uplink.resume !== undefined ||
    (via === 'auto' && total !== undefined && total >= UPLINK_THRESHOLD)
  ) {
    // In `auto`, a file whose slices reach no bucket goes through the API: it can be read again.
    const put = (options: Pick<UplinkOptions, 'putSlice' | 'resume'>, again: boolean) =>
      putByUplink(client, source, vault, key, progressFor(total), started, {
        // A resumed dispersal has its revision: no other path can take its place.
        fallback: via === 'auto' && options.resume === undefined,
        uplink: options,
        again,
      });
    let done = await put(uplink, false);
    if (done === SUPERSEDED) {
      // The vault moved to another topology while the file was dispersed: that revision can
      // never commit. A file can be read again, so it is put once more, under the new one.
      process.stderr.write(
        `dsn: the vault ${vault} moved to another topology while ${source} was dispersed: putting it again\n`,
      );
      const { resume: _dead, ...fresh } = uplink;
      done = await put(fresh, true);
    }
    if (done && done !== SUPERSEDED) return done;
  }
  // Cut as the writer cuts segments: full parts, the last one shorter, read one at a time.
  const input = source === '-' ? process.stdin : createReadStream(source);
  const parts = cutSegments(input, CALL_LIMIT);
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
      const { uploadId, sent, count } = await interruptible(async (interrupted) => {
        const { uploadId } = await client.json<{ uploadId: string }>(
          'POST',
          `${vaultPath(vault)}/uploads`,
          { body: { key } },
        );
        let sent = 0;
        let count = 0;
        progress.update(0, 'uploading');
        const inflight = new Set<Promise<void>>();
        const send = (n: number, body: Uint8Array) => {
          interrupted.throwIfAborted();
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
        // Waits end at an interrupt too: stdin may hold the next part back for as long as it likes.
        const stop = new Promise<never>((_, reject) =>
          interrupted.addEventListener('abort', () => reject(interrupted.reason), { once: true }),
        );
        stop.catch(() => {});
        try {
          send(++count, first);
          send(++count, second.value);
          for (;;) {
            const step = await Promise.race([parts.next(), stop]);
            if (step.done) break;
            hash.update(step.value);
            while (inflight.size >= PARALLEL_PARTS) await Promise.race([...inflight, stop]);
            send(++count, step.value);
          }
          await Promise.race([Promise.all(inflight), stop]);
        } catch (err) {
          // Never to be completed: aborted, so its parts go now and it stops counting among
          // this caller's open uploads (100 at most), rather than for its 7 days.
          const aborted = await client
            .request('DELETE', `${vaultPath(vault)}/uploads/${uploadId}`, { accept: [404, 409] })
            .then((res) => res.status === 200)
            .catch(() => false);
          if (!interrupted.aborted) throw err;
          // A read still waiting on the source ends, so the parts' generator can be closed.
          input.destroy();
          progress.stop();
          throw new InterruptedError(
            aborted
              ? `interrupted: the upload of ${vault}/${key} is aborted; nothing of it was written`
              : `interrupted: the upload ${uploadId} of ${vault}/${key} could not be aborted; its parts expire with it`,
          );
        }
        return { uploadId, sent, count };
      });
      progress.update(sent, 'dispersing');
      await client.json('POST', `${vaultPath(vault)}/uploads/${uploadId}/complete`);
      for (;;) {
        const u = await client.json<WriteState>('GET', `${vaultPath(vault)}/uploads/${uploadId}`);
        if (u.state === 'committed') {
          committed = { revision: u.revision ?? '', size: u.size ?? sent, sha256: u.sha256 ?? '' };
          break;
        }
        if (u.state === 'failed') throw asCliError(writeFailed(u.revision ?? uploadId, u));
        // Its revision waits for its commit: each look at the upload follows it (and begins
        // its dispersal again, should a topology change fail it), until it is decided.
        if (u.state === 'pending') {
          progress.update(sent, 'committing');
          await sleep(POLL_MS);
          continue;
        }
        // Steps of a long dispersal record how far they came (every 14 minutes as deployed).
        progress.update(sent, dispersingPhase(u.dispersed, sent));
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

/** What a put by client-side dispersal answers when the vault's topology changed under it. */
const SUPERSEDED = Symbol('superseded');

/** The API's answer to a write failed by the commit fence of a topology change (as the SDK's error or the CLI's). */
function isTopologySuperseded(err: unknown): boolean {
  const explained = asCliError(err);
  return explained instanceof ApiError && explained.code === 'TopologySuperseded';
}

/** A resume from other bytes than the dispersal began with (the SDK's ResumeMismatchError). */
function isResumeMismatch(err: unknown): boolean {
  return err instanceof Error && err.name === 'ResumeMismatchError';
}

/**
 * A put by client-side dispersal (client/uplink.ts), then the commit awaited if it was slow.
 * Undefined when `fallback` is allowed and no unit's bucket answered this client (nothing was
 * announced, and the dispersal is cancelled); SUPERSEDED, unless `again`, when a file's
 * dispersal was failed by the commit fence of a topology change.
 */
async function putByUplink(
  client: DsnClient,
  source: string,
  vault: string,
  key: string,
  progress: Progress,
  started: number,
  opts: {
    fallback: boolean;
    uplink: Pick<UplinkOptions, 'putSlice' | 'resume'>;
    /** Whether this is the put again after SUPERSEDED, which answers that no more. */
    again: boolean;
  },
): Promise<PutResult | typeof SUPERSEDED | undefined> {
  const { cancelDispersal, uplinkPut } = await import('../client/uplink.ts');
  progress.update(0, 'dispersing');
  // An interrupt cancels a first put's dispersal rather than leaving it to the janitor's
  // timeout; a resume's, which its user chose to keep, stays pending, to be resumed again.
  // A resumed file's done segments are checked by positional reads before anything is placed.
  const resuming = opts.uplink.resume;
  const file = resuming !== undefined && source !== '-' ? await open(source) : undefined;
  return interruptible(async (interrupted) => {
    let revision: string | undefined = resuming;
    try {
      const done = await uplinkPut(
        client,
        source === '-' ? process.stdin : createReadStream(source, { highWaterMark: 1024 * 1024 }),
        vault,
        key,
        {
          ...opts.uplink,
          ...(file ? { readAt: readerOf(file) } : {}),
          signal: interrupted,
          keepPending: resuming !== undefined,
          onOpen: (opened) => {
            revision = opened;
            // On a terminal, what a put killed outright needs to be resumed.
            if (resuming === undefined)
              progress.note?.(
                `dsn: dispersing as revision ${opened}; should this put stop, add --resume ${opened} to resume it (Ctrl-C cancels it)`,
              );
          },
          onProgress: (bytes) => progress.update(bytes),
        },
      ).catch((err) => {
        if (interrupted.aborted) return undefined;
        if (!opts.again && source !== '-' && isTopologySuperseded(err)) return SUPERSEDED;
        const explained = asCliError(err);
        // The API is out of reach: the cancel was too, and the dispersal waits to be resumed.
        if (explained instanceof UnreachableError && revision !== undefined)
          throw new CliError(explained.message, {
            cause: err,
            hint: `once it answers, resume with: dsn put ${source} ${vault}/${key} --resume ${revision} (before the pending timeout since its last call, 15 minutes by default)`,
          });
        // A resume failed for want of its units or its source: left pending, to be taken up
        // again (its bytes checked against what is done, `ResumeMismatchError`, say so).
        // An API error that decides nothing (a 5xx) leaves it so too.
        const decided = explained instanceof ApiError && explained.status < 500;
        if (resuming !== undefined && !decided && !isResumeMismatch(err)) {
          // Not the API's path (--via server): a resume is the dispersal's, or nothing.
          throw new CliError(explained instanceof Error ? explained.message : String(explained), {
            cause: err,
            hint: `the dispersal is left pending: resume it again with: dsn put ${source} ${vault}/${key} --resume ${resuming} (before the pending timeout since its last call, 15 minutes by default), or give it up with: dsn dispersal cancel ${vault} ${resuming}`,
          });
        }
        if (!opts.fallback || !isUnitsUnreachable(err)) throw explained;
        process.stderr.write(
          `dsn: ${(err as Error).message}: writing ${vault}/${key} through the API instead\n`,
        );
        return undefined;
      });
      if (done === SUPERSEDED) return done;
      if (done?.state === 'pending' && !interrupted.aborted) {
        progress.update(done.size, 'committing');
        const fenced = await awaitRevision(client, vault, done.revision, interrupted).then(
          () => false,
          (err) => {
            if (interrupted.aborted) return false;
            // Fenced off by a topology change after its last call: as above, put again.
            if (!opts.again && source !== '-' && isTopologySuperseded(err)) return true;
            throw err;
          },
        );
        if (fenced) return SUPERSEDED;
      }
      if (interrupted.aborted && done?.state === 'committed')
        throw new InterruptedError(
          `interrupted too late: ${vault}/${key} had committed (revision ${done.revision})`,
        );
      if (interrupted.aborted && resuming !== undefined)
        throw new InterruptedError(
          `interrupted: the dispersal of ${vault}/${key} (revision ${resuming}) is left pending, as a resume leaves it`,
          {
            hint: `resume it again with: dsn put ${source} ${vault}/${key} --resume ${resuming} (before the pending timeout since its last call, 15 minutes by default), or give it up with: dsn dispersal cancel ${vault} ${resuming}`,
          },
        );
      if (interrupted.aborted) {
        throw await interruptedDispersal(client, vault, key, revision, cancelDispersal);
      }
      if (!done) return undefined;
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
        skipped: done.skipped,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      progress.stop();
      await file?.close();
    }
  });
}

/** Positional reads of `file`: `into` filled from `offset`, short only at the end of the file. */
function readerOf(file: FileHandle): (offset: number, into: Uint8Array) => Promise<number> {
  return async (offset, into) => {
    let filled = 0;
    while (filled < into.length) {
      const { bytesRead } = await file.read(into, filled, into.length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled;
  };
}

/**
 * Runs `fn` with SIGINT and SIGTERM turned into its signal's abort, so it can say what it left
 * (a second signal exits at once); bin/dsn.ts's handler, which exits at once, is put back after.
 */
async function interruptible<T>(fn: (interrupted: AbortSignal) => Promise<T>): Promise<T> {
  const interrupt = new AbortController();
  const outer = process.listeners('SIGINT');
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.removeAllListeners('SIGINT');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(interrupt.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const listener of outer) process.on('SIGINT', listener);
  }
}

/** What an interrupted dispersal became, asked of the API: cancelled, or committed first. */
async function interruptedDispersal(
  client: DsnClient,
  vault: string,
  key: string,
  revision: string | undefined,
  cancel: typeof import('../client/uplink.ts').cancelDispersal,
): Promise<InterruptedError> {
  const what = `${vault}/${key}`;
  if (revision === undefined)
    return new InterruptedError(`interrupted: ${what} was not written (no dispersal opened)`);
  const outcome = await cancel(client, vault, revision).catch((err: Error) => err);
  if (outcome === 'cancelled')
    return new InterruptedError(
      `interrupted: the dispersal of ${what} is cancelled; nothing of it was committed, and the janitor removes the slices it placed`,
    );
  if (outcome === 'committed')
    return new InterruptedError(
      `interrupted too late: ${what} had committed (revision ${revision})`,
    );
  return new InterruptedError(
    `interrupted: the dispersal of ${what} could not be cancelled (${outcome.message}); unless it commits, the janitor fails and removes it after its timeout`,
  );
}

/**
 * `dsn put`: streams a file or stdin in parts of at most one call's size (a plain PUT when it
 * fits in one, a staged upload otherwise), or disperses it itself from UPLINK_THRESHOLD
 * (bin/put-uplink.ts), hashing as it reads. It never holds more than a few parts in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Written, writeFailed } from '../client/dsn-client.ts';
import type { UplinkOptions } from '../client/uplink.ts';
import { cutSegments } from '../shared/codec/segment-stream.ts';
import {
  asCliError,
  awaitRevision,
  CALL_LIMIT,
  type DsnClient,
  objectPath,
  PUT_POLL_MS,
  vaultPath,
} from './client.ts';
import { CliError, InterruptedError } from './errors.ts';
import { dispersingPhase } from './format.ts';
import { interruptible, sayOnInterrupt } from './interrupt.ts';
import type { ProgressFor } from './progress.ts';
import { putByUplink, SUPERSEDED } from './put-uplink.ts';

/** Parts uploaded at once; a third is read from disk meanwhile. */
const PARALLEL_PARTS = 2;

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
      putByUplink(client, source, vault, key, progressFor(total), {
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
    if (done && done !== SUPERSEDED)
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
    let committed: Written;
    let staged: Pick<PutResult, 'uploadId' | 'parts'> | undefined;
    if (second.done) {
      progress.update(0, 'uploading');
      // Stopped now, the PUT may have reached the API whole: then it commits without this process.
      let unsay = sayOnInterrupt(
        `the PUT of ${vault}/${key} was under way: if the API had it whole it commits all the same, else nothing of it is written (dsn ls ${vault}/${key} shows which)`,
      );
      try {
        const res = await client.request('PUT', objectPath(vault, key), {
          body: first,
        });
        const body = (await res.json()) as Written & { state?: string };
        progress.update(first.length);
        if (res.status === 202) {
          unsay();
          unsay = sayOnInterrupt(
            `the API took the write of ${vault}/${key} (revision ${body.revision}): it commits or fails on its own (dsn ls ${vault}/${key} shows it once committed)`,
          );
          progress.update(first.length, 'committing');
          committed = await awaitRevision(client, vault, body.revision);
        } else {
          committed = body;
        }
      } finally {
        unsay();
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
      // From the complete on, the upload is the server's: stopped, this process leaves it going.
      const unsay = sayOnInterrupt(
        `the upload ${uploadId} of ${vault}/${key} was completed, or its completion was under way: then it is dispersed and commits without this process (dsn ls ${vault}/${key} shows it once committed)`,
      );
      try {
        await client.json('POST', `${vaultPath(vault)}/uploads/${uploadId}/complete`);
        for (;;) {
          const u = await client.json<WriteState>('GET', `${vaultPath(vault)}/uploads/${uploadId}`);
          if (u.state === 'committed') {
            committed = {
              revision: u.revision ?? '',
              size: u.size ?? sent,
              sha256: u.sha256 ?? '',
            };
            break;
          }
          if (u.state === 'failed') throw asCliError(writeFailed(u.revision ?? uploadId, u));
          // Its revision waits for its commit: each look at the upload follows it (and begins
          // its dispersal again, should a topology change fail it), until it is decided.
          if (u.state === 'pending') {
            progress.update(sent, 'committing');
            await sleep(PUT_POLL_MS);
            continue;
          }
          // Steps of a long dispersal record how far they came (every 14 minutes as deployed).
          progress.update(sent, dispersingPhase(u.dispersed, sent));
          await sleep(PUT_POLL_MS);
        }
      } finally {
        unsay();
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

/**
 * `dsn put` by client-side dispersal (client/uplink.ts): the file encoded here, its slices
 * straight to the units' buckets, then the commit awaited if it was slow. An interrupt cancels
 * a first put's dispersal; a resume's (`--resume`) is left pending, to be resumed again. A
 * dispersal the commit fence of a topology change failed is answered SUPERSEDED, for the put
 * to be made again.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { UplinkOptions, UplinkResult } from '../client/uplink.ts';
import { asCliError, awaitRevision, type DsnClient, isUnitsUnreachable } from './client.ts';
import { ApiError, CliError, InterruptedError, UnreachableError } from './errors.ts';
import { interruptible } from './interrupt.ts';
import type { Progress } from './progress.ts';

/** What a put by client-side dispersal answers when the vault's topology changed under it. */
export const SUPERSEDED = Symbol('superseded');

/** The API's answer to a write failed by the commit fence of a topology change (as the SDK's error or the CLI's). */
function isTopologySuperseded(err: unknown): boolean {
  const explained = asCliError(err);
  return explained instanceof ApiError && explained.code === 'TopologySuperseded';
}

/** The command that takes a stopped dispersal up again, and until when it may. */
function resumeCommand(source: string, vault: string, key: string, revision: string): string {
  return `dsn put ${source} ${vault}/${key} --resume ${revision} (before the pending timeout since its last call, 15 minutes by default)`;
}

/** What a resume left pending says: how to resume it again, or give it up. */
function keptHint(source: string, vault: string, key: string, revision: string): string {
  return `resume it again with: ${resumeCommand(source, vault, key, revision)}, or give it up with: dsn dispersal cancel ${vault} ${revision}`;
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
export async function putByUplink(
  client: DsnClient,
  source: string,
  vault: string,
  key: string,
  progress: Progress,
  opts: {
    fallback: boolean;
    uplink: Pick<UplinkOptions, 'putSlice' | 'resume'>;
    /** Whether this is the put again after SUPERSEDED, which answers that no more. */
    again: boolean;
  },
): Promise<UplinkResult | typeof SUPERSEDED | undefined> {
  const { cancelDispersal, uplinkPut } = await import('../client/uplink.ts');
  progress.update(0, 'dispersing');
  // An interrupt cancels a first put's dispersal rather than leaving it to the janitor's
  // timeout; a resume's, which its user chose to keep, stays pending, to be resumed again.
  // A resumed file's done segments are checked by positional reads before anything is placed;
  // stdin's as it streams by, the undone segments before the last done one held until then.
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
            hint: `once it answers, resume with: ${resumeCommand(source, vault, key, revision)}`,
          });
        // A resume failed for want of its units or its source: left pending, to be taken up
        // again (its bytes checked against what is done, `ResumeMismatchError`, say so).
        // An API error that decides nothing (a 5xx) leaves it so too.
        const decided = explained instanceof ApiError && explained.status < 500;
        if (resuming !== undefined && !decided && !isResumeMismatch(err)) {
          // Not the API's path (--via server): a resume is the dispersal's, or nothing.
          // A stream's resume that would hold too much back can only be made from a file.
          const from = (err as Error).name === 'ResumeHoldError' ? 'FILE' : source;
          throw new CliError(explained instanceof Error ? explained.message : String(explained), {
            cause: err,
            hint: `the dispersal is left pending: ${keptHint(from, vault, key, resuming)}`,
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
            hint: keptHint(source, vault, key, resuming),
          },
        );
      if (interrupted.aborted) {
        throw await interruptedDispersal(client, vault, key, revision, cancelDispersal);
      }
      return done;
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

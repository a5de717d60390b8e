/**
 * The object browser: a vault's keys as folders (`delimiter=/`) and objects, with upload and
 * download (each with a progress bar and a cancel button) and delete. From
 * CLIENT_SIDE_THRESHOLD up, the page disperses an upload itself, in a Web Worker so the page
 * stays responsive, and reads a download from the units' buckets (client/web-transfers.ts), as
 * the CLI does; smaller files go through the API (a staged upload, a GET), and so does a large
 * one when no bucket answers this page (their CORS rules do not allow its origin, say). A
 * dispersal left pending (its tab closed mid-way) is listed under the folder, to resume from
 * its file or to discard (unfinished-uploads.tsx).
 */
import { useState } from 'preact/hooks';
import type { DsnClient } from '../../../client/web.ts';
import {
  CLIENT_SIDE_THRESHOLD,
  cancelDispersal,
  openDownlink,
  type PendingDispersal,
  UnitsUnreachableError,
  uplinkPutInWorker,
  type WorkerConnection,
} from '../../../client/web-transfers.ts';
import { usePoll } from '../use-poll.ts';
import { UnfinishedUploads } from './unfinished-uploads.tsx';
import { formatBytes } from './vaults.tsx';

/** What a resume that did not complete left, said after why. */
const STAYS = 'it stays pending, to be resumed again before its timeout, or discarded';

interface Listing {
  objects: Array<{ key: string; size: number; lastModified?: string; revision: string }>;
  commonPrefixes?: string[];
  cursor: string | null;
}

export function ObjectsView({
  dsn,
  connection,
  vault,
  prefix,
}: {
  dsn: DsnClient;
  /** The same API and credentials as `dsn`, for a dispersal's worker. */
  connection: WorkerConnection;
  vault: string;
  prefix: string;
}) {
  const { data, error, refresh } = usePoll(
    () =>
      dsn.json<Listing>(
        'GET',
        `/vaults/${encodeURIComponent(vault)}/objects?${new URLSearchParams({ prefix, delimiter: '/', limit: '1000' })}`,
      ),
    0,
    [vault, prefix],
  );
  /** The upload or download under way (one at a time). */
  const [progress, setProgress] = useState<
    { name: string; sent: number; total: number } | undefined
  >();
  const [message, setMessage] = useState<string | undefined>();
  /** Cancels the upload or download under way. */
  const [cancel, setCancel] = useState<AbortController | undefined>();
  /** The unfinished uploads are read again when this changes. */
  const [unfinishedVersion, setUnfinishedVersion] = useState(0);
  /**
   * Dispersals this page ended, or whose end is its own (an upload's, cancelled on failure),
   * which the API's list (an index) may show pending a moment longer.
   */
  const [notUnfinished, setNotUnfinished] = useState<ReadonlySet<string>>(new Set());
  const settled = (revision: string) => setNotUnfinished((s) => new Set(s).add(revision));
  const unsettled = (revision: string) =>
    setNotUnfinished((s) => new Set([...s].filter((r) => r !== revision)));
  /** The dispersal this page is running. */
  const [active, setActive] = useState<string | undefined>();
  /** An upload or a resume ended: nothing under way, the listings read again. */
  const dispersalEnded = () => {
    setProgress(undefined);
    setCancel(undefined);
    setActive(undefined);
    setUnfinishedVersion((v) => v + 1);
    refresh();
  };
  /** A discard under way: nothing else starts meanwhile. */
  const [discarding, setDiscarding] = useState(false);
  /**
   * What a cancelled upload left: a dispersal is cancelled (uplinkPutInWorker already asked;
   * asking again answers the same), unless it had committed first.
   */
  const cancelled = async (key: string, revision: string | undefined) => {
    if (!revision) return `upload of ${key} cancelled: nothing was committed`;
    const outcome = await cancelDispersal(dsn, vault, revision).catch(
      (err: Error) => `could not be cancelled (${err.message})`,
    );
    // Not cancelled: it may still be pending, and is offered to resume or discard.
    if (outcome !== 'committed' && outcome !== 'cancelled') unsettled(revision);
    if (outcome === 'committed') return `upload of ${key} cancelled too late: it had committed`;
    if (outcome === 'cancelled')
      return `upload of ${key} cancelled: nothing was committed, and the janitor removes the slices placed`;
    return `upload of ${key} cancelled, but its dispersal ${outcome}: unless it commits, the janitor removes it after its timeout`;
  };
  const upload = async (file: File) => {
    setMessage(undefined);
    setProgress({ name: file.name, sent: 0, total: file.size });
    const key = `${prefix}${file.name}`;
    const control = new AbortController();
    setCancel(control);
    const { signal } = control;
    /** The dispersal's revision, once opened. */
    let revision: string | undefined;
    try {
      let why = '';
      if (file.size >= CLIENT_SIDE_THRESHOLD) {
        const written = await uplinkPutInWorker(connection, file, vault, key, {
          signal,
          ...(file.type ? { attributes: { contentType: file.type } } : {}),
          onOpen: (opened) => {
            revision = opened;
            setActive(opened);
            // Whatever its end, the upload ends it: committed, or cancelled on failure or abort.
            settled(opened);
          },
          onProgress: (sent) => setProgress({ name: file.name, sent, total: file.size }),
        }).catch((err: unknown) => {
          if (!(err instanceof UnitsUnreachableError)) throw err;
          why = ` (${err.message})`;
          revision = undefined;
          return undefined;
        });
        if (written) {
          setMessage(
            `uploaded ${key} (${formatBytes(written.size)}) by dispersal on this page${written.state === 'pending' ? ', commit pending' : ''}`,
          );
          return;
        }
      }
      // Staged: the parts go to this page's own origin.
      const written = await dsn.upload(vault, key, file, {
        via: 'staged',
        signal,
        ...(file.type ? { contentType: file.type } : {}),
        onProgress: (sent, total) => setProgress({ name: file.name, sent, total }),
      });
      setMessage(`uploaded ${key} (${formatBytes(written.size)}) through the API${why}`);
    } catch (err) {
      setMessage(
        signal.aborted
          ? await cancelled(key, revision)
          : `upload of ${key} failed: ${(err as Error).message}`,
      );
    } finally {
      dispersalEnded();
    }
  };
  /**
   * Resumes a dispersal left pending from `file`, the one it began with: the worker reads the
   * segments done at their offsets and checks them, then places the others. Stopped (its
   * cancel button) or failed, it stays pending, to be resumed again or discarded.
   */
  const resume = async (d: PendingDispersal, file: File) => {
    const named = d.key.split('/').pop();
    if (
      file.name !== named &&
      !confirm(`Resume the upload of ${d.key} from ${file.name}, a file of another name?`)
    )
      return;
    setMessage(undefined);
    setProgress({ name: file.name, sent: 0, total: file.size });
    const control = new AbortController();
    setCancel(control);
    const { signal } = control;
    try {
      setActive(d.revision);
      const written = await uplinkPutInWorker(connection, file, vault, d.key, {
        resume: d.revision,
        keepPending: true,
        // The worker reads the segments done at their offsets: it never holds bytes back.
        resumeHoldBytes: 0,
        signal,
        onProgress: (sent) => setProgress({ name: file.name, sent, total: file.size }),
      });
      settled(d.revision);
      setMessage(
        `resumed ${d.key} (${formatBytes(written.size)}) from ${file.name}: ${written.skipped} of ${written.segments} segments were done before, the others placed now${written.state === 'pending' ? ', commit pending' : ''}`,
      );
    } catch (err) {
      const e = err as Error;
      setMessage(
        signal.aborted
          ? await stopped(d)
          : e.name === 'ResumeMismatchError'
            ? `${file.name} is not the file ${d.key} began with (its segment ${(e as { segment?: number }).segment} differs from the one placed): nothing was sent, and ${STAYS}`
            : `resume of ${d.key} failed: ${e.message}`,
      );
    } finally {
      dispersalEnded();
    }
  };
  /** What a resume stopped mid-way left: pending, unless its last call had committed it. */
  const stopped = async (d: PendingDispersal) => {
    const found = await dsn
      .json<{ state: string }>(
        'GET',
        `/vaults/${encodeURIComponent(vault)}/dispersals/${encodeURIComponent(d.revision)}`,
      )
      .catch(() => undefined);
    if (found?.state === 'committed') {
      settled(d.revision);
      return `resume of ${d.key} stopped too late: it had committed`;
    }
    return found?.state === 'pending' || found === undefined
      ? `resume of ${d.key} stopped: ${STAYS}`
      : `resume of ${d.key} stopped; its dispersal is ${found.state}`;
  };
  /** Gives up a dispersal left pending: cancelled, unless it had committed first. */
  const discard = async (d: PendingDispersal) => {
    if (
      !confirm(
        `Discard the unfinished upload of ${vault}/${d.key}? Should it still be under way elsewhere (another tab, the CLI), that stops it too.`,
      )
    )
      return;
    setMessage(undefined);
    setDiscarding(true);
    try {
      const outcome = await cancelDispersal(dsn, vault, d.revision);
      settled(d.revision);
      setMessage(
        outcome === 'committed'
          ? `the upload of ${d.key} had committed: it was not discarded`
          : `discarded the unfinished upload of ${d.key}: nothing of it commits, and the janitor removes the slices placed`,
      );
    } catch (err) {
      setMessage(`could not discard the upload of ${d.key}: ${(err as Error).message}`);
    } finally {
      setDiscarding(false);
      setUnfinishedVersion((v) => v + 1);
      refresh();
    }
  };
  const download = async (key: string, size: number) => {
    setMessage(undefined);
    const name = key.split('/').pop() ?? key;
    setProgress({ name, sent: 0, total: size });
    const control = new AbortController();
    setCancel(control);
    const { signal } = control;
    // Blob copies each piece at once (the downlink reuses its buffers); the file is their join.
    const parts: Blob[] = [];
    let got = 0;
    const take = (chunk: Uint8Array) => {
      parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
      got += chunk.length;
      setProgress({ name, sent: got, total: size });
    };
    try {
      let done = false;
      let why = '';
      if (size >= CLIENT_SIDE_THRESHOLD) {
        try {
          const read = await openDownlink(dsn, vault, key, { signal });
          for await (const chunk of read.body) take(chunk);
          done = true;
          setMessage(
            `downloaded ${key} (${formatBytes(got)}) from the units' buckets: ${read.stats.served.home} segments from home units, ${read.stats.served.edge} from edge copies`,
          );
        } catch (err) {
          // No bucket answered this page: nothing was handed over yet, the API serves it.
          if (!(err instanceof UnitsUnreachableError)) throw err;
          why = ` (${err.message})`;
        }
      }
      if (!done) {
        const res = await dsn.getObject(vault, key, { signal });
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        for (;;) {
          const { done: end, value } = await reader.read();
          if (end) break;
          take(value);
        }
        setMessage(`downloaded ${key} (${formatBytes(got)}) through the API${why}`);
      }
      const url = URL.createObjectURL(new Blob(parts));
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      setMessage(
        signal.aborted
          ? `download of ${key} cancelled`
          : `download of ${key} failed: ${(err as Error).message}`,
      );
    } finally {
      setProgress(undefined);
      setCancel(undefined);
    }
  };
  const remove = async (key: string) => {
    if (!confirm(`Delete ${vault}/${key}?`)) return;
    await dsn.deleteObject(vault, key);
    refresh();
  };
  const parent = prefix.split('/').slice(0, -2).join('/');
  return (
    <section>
      <h2>
        <a href={`#/objects/${encodeURIComponent(vault)}/`}>{vault}</a> / {prefix}
      </h2>
      <p>
        <label class="upload">
          upload a file here{' '}
          <input
            type="file"
            data-testid="upload-input"
            disabled={progress !== undefined}
            onChange={(e) => {
              const file = (e.target as HTMLInputElement).files?.[0];
              if (file) void upload(file);
            }}
          />
        </label>
      </p>
      {progress && (
        <p data-testid="transfer-progress">
          {progress.name} <progress max={Math.max(1, progress.total)} value={progress.sent} />{' '}
          {Math.round((100 * progress.sent) / Math.max(1, progress.total))}%{' '}
          {cancel && (
            <button type="button" data-testid="transfer-cancel" onClick={() => cancel.abort()}>
              cancel
            </button>
          )}
        </p>
      )}
      {message && <p data-testid="upload-message">{message}</p>}
      {error && <p class="error">{error}</p>}
      <UnfinishedUploads
        key={`${vault}/${prefix}`}
        dsn={dsn}
        vault={vault}
        prefix={prefix}
        version={unfinishedVersion}
        hidden={active ? new Set([...notUnfinished, active]) : notUnfinished}
        busy={progress !== undefined || discarding}
        onResume={(d, file) => void resume(d, file)}
        onDiscard={(d) => void discard(d)}
      />
      <table data-testid="objects">
        <thead>
          <tr>
            <th>key</th>
            <th>size</th>
            <th>modified</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {prefix && (
            <tr>
              <td colSpan={4}>
                <a href={`#/objects/${encodeURIComponent(vault)}/${parent ? `${parent}/` : ''}`}>
                  ..
                </a>
              </td>
            </tr>
          )}
          {data?.commonPrefixes?.map((p) => (
            <tr key={p} data-prefix={p}>
              <td colSpan={4}>
                <a href={`#/objects/${encodeURIComponent(vault)}/${p}`}>{p.slice(prefix.length)}</a>
              </td>
            </tr>
          ))}
          {data?.objects.map((o) => (
            <tr key={o.key} data-key={o.key}>
              <td>{o.key.slice(prefix.length)}</td>
              <td>{formatBytes(o.size)}</td>
              <td>{o.lastModified ?? ''}</td>
              <td class="actions">
                <a href={`#/slices/${encodeURIComponent(vault)}/${o.key}`}>slice map</a>{' '}
                <button
                  type="button"
                  disabled={progress !== undefined}
                  onClick={() => download(o.key, o.size)}
                >
                  download
                </button>{' '}
                <button type="button" onClick={() => remove(o.key)}>
                  delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/**
 * The object browser: a vault's keys as folders (`delimiter=/`) and objects, with upload
 * (staged through the API, with a progress bar), download and delete.
 */
import { useState } from 'preact/hooks';
import type { DsnClient } from '../../../client/web.ts';
import { usePoll } from '../use-poll.ts';
import { formatBytes } from './vaults.tsx';

interface Listing {
  objects: Array<{ key: string; size: number; lastModified?: string; revision: string }>;
  commonPrefixes?: string[];
  cursor: string | null;
}

export function ObjectsView({
  dsn,
  vault,
  prefix,
}: {
  dsn: DsnClient;
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
  const [progress, setProgress] = useState<
    { name: string; sent: number; total: number } | undefined
  >();
  const [message, setMessage] = useState<string | undefined>();
  const upload = async (file: File) => {
    setMessage(undefined);
    setProgress({ name: file.name, sent: 0, total: file.size });
    try {
      // Staged: the parts go to this page's own origin. Presigned parts would go to the
      // staging bucket's origin, which a browser reaches only if that bucket allows CORS.
      const written = await dsn.upload(vault, `${prefix}${file.name}`, file, {
        via: 'staged',
        ...(file.type ? { contentType: file.type } : {}),
        onProgress: (sent, total) => setProgress({ name: file.name, sent, total }),
      });
      setMessage(`uploaded ${prefix}${file.name} (${formatBytes(written.size)})`);
    } catch (err) {
      setMessage(`upload failed: ${(err as Error).message}`);
    } finally {
      setProgress(undefined);
      refresh();
    }
  };
  const download = async (key: string) => {
    const res = await dsn.getObject(vault, key);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = key.split('/').pop() ?? key;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
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
        <p data-testid="upload-progress">
          {progress.name} <progress max={Math.max(1, progress.total)} value={progress.sent} />{' '}
          {Math.round((100 * progress.sent) / Math.max(1, progress.total))}%
        </p>
      )}
      {message && <p data-testid="upload-message">{message}</p>}
      {error && <p class="error">{error}</p>}
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
                <button type="button" onClick={() => download(o.key)}>
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

/**
 * The unfinished uploads under a folder (its subfolders included): the pending dispersals
 * opened under the signed-in key's root key, by a page whose tab closed or lost its connection
 * mid-way, or by the CLI or the SDK (one may still be under way there: the API cannot tell).
 * Each can be resumed from its file, which places only the segments not done yet (the file is
 * checked against those first), or discarded: cancelled, so nothing of it commits and the
 * janitor removes its slices. One nobody resumes fails at its pending timeout, as a killed
 * client's does.
 */
import { DsnApiError, type DsnClient } from '../../../client/web.ts';
import { type PendingDispersal, pendingDispersals } from '../../../client/web-transfers.ts';
import { usePoll } from '../use-poll.ts';

/**
 * Every page of this caller's pending dispersals in `vault` whose key is under `prefix`; none
 * for a key that may not write there (listing them is a write's action), which has none to
 * resume.
 */
async function unfinishedUnder(
  dsn: DsnClient,
  vault: string,
  prefix: string,
): Promise<PendingDispersal[]> {
  const found: PendingDispersal[] = [];
  try {
    for await (const d of pendingDispersals(dsn, vault))
      if (d.key.startsWith(prefix)) found.push(d);
  } catch (err) {
    if (err instanceof DsnApiError && err.status === 403) return [];
    throw err;
  }
  return found;
}

export function UnfinishedUploads({
  dsn,
  vault,
  prefix,
  version,
  hidden,
  busy,
  onResume,
  onDiscard,
}: {
  dsn: DsnClient;
  vault: string;
  prefix: string;
  /** Changes when the list may have (a transfer ended): it is read again. */
  version: number;
  /**
   * Revisions not to offer: the one this page is dispersing, and those it ended a moment ago
   * (the API lists dispersals from an index that may show them late).
   */
  hidden: ReadonlySet<string>;
  /** A transfer is under way: nothing else may start. */
  busy: boolean;
  onResume: (dispersal: PendingDispersal, file: File) => void;
  onDiscard: (dispersal: PendingDispersal) => void;
}) {
  const { data, error } = usePoll(() => unfinishedUnder(dsn, vault, prefix), 0, [
    vault,
    prefix,
    version,
  ]);
  const shown = (data ?? []).filter((d) => !hidden.has(d.revision));
  if (error) return <p class="error">unfinished uploads: {error}</p>;
  if (shown.length === 0) return null;
  return (
    <section>
      <h3>unfinished uploads</h3>
      <p class="note">
        Left pending by a page closed or cut off mid-way, or still under way elsewhere (another tab,
        the CLI): resume one from its file (only the segments not done are sent), or discard it.
        Each fails at the time shown unless resumed.
      </p>
      <table data-testid="unfinished">
        <thead>
          <tr>
            <th>key</th>
            <th>started</th>
            <th>pending until</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.map((d) => (
            <tr key={d.revision} data-revision={d.revision} data-key={d.key}>
              <td>{d.key.slice(prefix.length)}</td>
              <td>{d.createdAt}</td>
              <td>{d.pendingUntil}</td>
              <td class="actions">
                <label>
                  resume from its file{' '}
                  <input
                    type="file"
                    data-testid="resume-input"
                    disabled={busy}
                    onChange={(e) => {
                      const input = e.target as HTMLInputElement;
                      const file = input.files?.[0];
                      // The same file may be picked again after a failed try.
                      input.value = '';
                      if (file) onResume(d, file);
                    }}
                  />
                </label>{' '}
                <button
                  type="button"
                  data-testid="discard"
                  disabled={busy}
                  onClick={() => onDiscard(d)}
                >
                  discard
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

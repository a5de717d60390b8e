/**
 * Jobs with their progress: each vault's rebuild (start one here), and replication jobs.
 */
import type { DsnClient } from '../../../client/web.ts';
import { DsnApiError } from '../../../client/web.ts';
import { usePoll } from '../use-poll.ts';

interface Rebuild {
  vault: string;
  id: string;
  state: string;
  phase: string;
  totalSegments: number;
  segmentsScanned: number;
  slicesRepaired: number;
  segmentsLost: number;
  etaSeconds?: number;
  updatedAt: string;
}

async function loadJobs(dsn: DsnClient) {
  const { data, error } = await dsn.api.GET('/vaults');
  if (error) throw new Error(JSON.stringify(error));
  const rebuilds = await Promise.all(
    data.vaults.map(async (v) => {
      try {
        return {
          vault: v.name,
          job: await dsn.json<Rebuild>('GET', `/vaults/${encodeURIComponent(v.name)}/rebuild`),
        };
      } catch (err) {
        if (err instanceof DsnApiError && err.status === 404) return { vault: v.name };
        throw err;
      }
    }),
  );
  // Replication jobs need admin of every vault: a narrower key sees none.
  const listed = await dsn.api.GET('/replications');
  return { rebuilds, replications: listed.data?.replications };
}

export function JobsView({ dsn }: { dsn: DsnClient }) {
  const { data, error, refresh } = usePoll(() => loadJobs(dsn), 1_000);
  const start = async (vault: string) => {
    await dsn.json('POST', `/vaults/${encodeURIComponent(vault)}/rebuild`, {});
    refresh();
  };
  return (
    <section>
      <h2>Rebuilds</h2>
      {error && <p class="error">{error}</p>}
      <table data-testid="rebuilds">
        <thead>
          <tr>
            <th>vault</th>
            <th>state</th>
            <th>progress</th>
            <th>repaired</th>
            <th>lost</th>
            <th>ETA</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.rebuilds.map(({ vault, job }) => (
            <tr key={vault} data-vault={vault} data-state={job?.state ?? 'none'}>
              <td>{vault}</td>
              <td data-testid="rebuild-state">
                {job ? `${job.state} (${job.phase})` : 'never run'}
              </td>
              <td>
                {job && (
                  <>
                    <progress max={Math.max(1, job.totalSegments)} value={job.segmentsScanned} />{' '}
                    {job.segmentsScanned}/{job.totalSegments} segments
                  </>
                )}
              </td>
              <td>{job?.slicesRepaired ?? ''}</td>
              <td>{job?.segmentsLost ?? ''}</td>
              <td>{job?.etaSeconds !== undefined ? `${job.etaSeconds} s` : ''}</td>
              <td>
                <button type="button" data-testid="start-rebuild" onClick={() => start(vault)}>
                  {job?.state === 'running' ? 'resume' : 'start rebuild'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data?.replications && (
        <>
          <h2>Replication jobs</h2>
          <table data-testid="replications">
            <thead>
              <tr>
                <th>job</th>
                <th>state</th>
                <th>from → to</th>
                <th>started</th>
              </tr>
            </thead>
            <tbody>
              {data.replications.map((j) => (
                <tr key={j.id}>
                  <td>{j.id}</td>
                  <td>{j.state}</td>
                  <td>
                    {JSON.stringify(j.source)} → {JSON.stringify(j.destination)}
                  </td>
                  <td>{j.startedAt}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

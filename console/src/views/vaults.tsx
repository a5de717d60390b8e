import type { DsnClient } from '../../../client/web.ts';
import { usePoll } from '../use-poll.ts';

export function VaultsView({ dsn }: { dsn: DsnClient }) {
  const { data, error } = usePoll(async () => {
    const { data, error } = await dsn.api.GET('/vaults');
    if (error) throw new Error(JSON.stringify(error));
    return data.vaults;
  }, 10_000);
  return (
    <section>
      <h2>Vaults</h2>
      {error && <p class="error">{error}</p>}
      <table data-testid="vaults">
        <thead>
          <tr>
            <th>vault</th>
            <th title="slices needed to read">k</th>
            <th title="pillars, one unit each">n</th>
            <th title="units that must confirm a write">T</th>
            <th>segment</th>
            <th>units</th>
          </tr>
        </thead>
        <tbody>
          {data?.map((v) => (
            <tr key={v.name} data-vault={v.name}>
              <td>
                <a href={`#/objects/${encodeURIComponent(v.name)}/`}>{v.name}</a>
              </td>
              <td>{v.readThreshold}</td>
              <td>{v.width}</td>
              <td>{v.writeThreshold}</td>
              <td>{formatBytes(v.segmentSize)}</td>
              <td>{v.units.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/**
 * An object's slice map: its segments by pillars, each slice coloured by what explain found
 * (good, missing, corrupt, unreadable ...), with the unit holding each pillar.
 */
import type { DsnClient } from '../../../client/web.ts';
import { objectPath } from '../../../client/web.ts';
import { usePoll } from '../use-poll.ts';
import { formatBytes } from './vaults.tsx';

interface Pillar {
  pillar: number;
  unit: number;
  present: boolean;
  checksumValid: boolean;
  defect?: string;
  detail?: string;
}

interface Explanation {
  size: number;
  width: number;
  readThreshold: number;
  segmentCount: number;
  verdict: string;
  revision: string;
  cursor: number | null;
  segments: Array<{ segment: number; good: number; verdict: string; pillars: Pillar[] }>;
}

/** At most this many segments are drawn (explain pages are read until then). */
const DRAWN = 256;

async function explainAll(dsn: DsnClient, vault: string, key: string): Promise<Explanation> {
  let page = await dsn.json<Explanation>('GET', `${objectPath(vault, key)}?explain`);
  const all = { ...page, segments: [...page.segments] };
  while (page.cursor !== null && all.segments.length < DRAWN) {
    page = await dsn.json<Explanation>(
      'GET',
      `${objectPath(vault, key)}?explain&cursor=${page.cursor}`,
    );
    all.segments.push(...page.segments);
    all.verdict = worse(all.verdict, page.verdict);
  }
  return all;
}

const ORDER = ['healthy', 'degraded', 'lost'];
const worse = (a: string, b: string) => (ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a);

export function SliceMapView({
  dsn,
  vault,
  objectKey,
}: {
  dsn: DsnClient;
  vault: string;
  objectKey: string;
}) {
  const { data, error, refresh } = usePoll(() => explainAll(dsn, vault, objectKey), 0, [
    vault,
    objectKey,
  ]);
  return (
    <section>
      <h2>
        Slice map of <a href={`#/objects/${encodeURIComponent(vault)}/`}>{vault}</a>/{objectKey}
      </h2>
      <p>
        <button type="button" data-testid="explain-again" onClick={refresh}>
          check again
        </button>
      </p>
      {error && <p class="error">{error}</p>}
      {data && (
        <>
          <p data-testid="verdict" class={`verdict ${data.verdict}`}>
            {data.verdict}: {formatBytes(data.size)} in {data.segmentCount} segments,{' '}
            {data.readThreshold}-of-
            {data.width}, revision {data.revision}
          </p>
          <table class="slice-map" data-testid="slice-map">
            <thead>
              <tr>
                <th>segment</th>
                {data.segments[0]?.pillars.map((p) => (
                  <th key={p.pillar}>
                    pillar {p.pillar}
                    <br />
                    unit {p.unit}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {data.segments.map((s) => (
                <tr key={s.segment} data-segment={s.segment} class={s.verdict}>
                  <th>
                    {s.segment} ({s.good} good)
                  </th>
                  {s.pillars.map((p) => (
                    <td
                      key={p.pillar}
                      class={`slice ${p.defect ?? 'good'}`}
                      data-state={p.defect ?? 'good'}
                      title={p.detail ?? p.defect ?? 'good'}
                    >
                      {p.defect ?? 'good'}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {data.segments.length < data.segmentCount && (
            <p class="note">
              The first {data.segments.length} of {data.segmentCount} segments are drawn; `dsn
              explain` shows all.
            </p>
          )}
        </>
      )}
    </section>
  );
}

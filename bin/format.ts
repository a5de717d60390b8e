/** Human output of the CLI: sizes, durations, aligned columns, and the explain grid. */
import type { ObjectExplanation, PillarExplanation } from '../shared/repair/explain.ts';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/**
 * The phase a staged put shows while the server disperses its upload: how far the dispersal's
 * steps came, once one of them recorded it.
 */
export function dispersingPhase(dispersed: number | undefined, size: number): string {
  if (dispersed === undefined) return 'dispersing';
  const percent = size > 0 ? Math.floor((dispersed / size) * 100) : 100;
  return `dispersing: ${formatBytes(dispersed)} of ${formatBytes(size)} (${percent}%)`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * Rows as aligned columns; `right` lists the columns aligned right (numbers). The last column
 * is not padded, so long keys do not drag trailing spaces.
 */
export function columns(rows: string[][], right: number[] = []): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => {
          if (i === row.length - 1 && !right.includes(i)) return cell;
          const pad = ' '.repeat((widths[i] ?? 0) - [...cell].length);
          return right.includes(i) ? pad + cell : cell + pad;
        })
        .join('  '),
    )
    .join('\n');
}

/** The wire shapes of `?explain`, from the code that writes them. */
export type PillarReport = PillarExplanation;
export type Explanation = ObjectExplanation;

/** One mark per pillar: good, missing, corrupt, another revision's, or unreadable. */
export function pillarMark(p: PillarReport): string {
  switch (p.defect) {
    case undefined:
      break;
    case 'missing':
      return '\u2717';
    case 'corrupt':
    case 'truncated':
      return '!';
    case 'version':
    case 'foreign':
      return '~';
    default:
      return '?';
  }
  if (!p.present) return '\u2717';
  if (!p.checksumValid) return '!';
  if (!p.revisionMatch) return '~';
  return '\u2713';
}

const LEGEND =
  '\u2713 good  \u2717 missing  ! corrupt or truncated  ~ another revision or foreign  ? unreadable (the read failed)';

/** The explain report: verdict, then one line per segment with one mark per pillar. */
export function explainText(e: Explanation, verbose: boolean): string {
  const lines = [
    `${e.vault}/${e.key}: ${e.verdict.toUpperCase()}`,
    `  revision ${e.revision}, ${formatBytes(e.size)} (${e.size} bytes), ${e.segments.length} segment(s), ${e.readThreshold}-of-${e.width}`,
    '',
  ];
  const header = [
    'segment',
    ...Array.from({ length: e.width }, (_, i) => `p${i}`),
    'good',
    'verdict',
  ];
  const rows = [header];
  for (const s of e.segments) {
    const marks = Array.from({ length: e.width }, (_, i) => {
      const p = s.pillars.find((x) => x.pillar === i);
      return p ? pillarMark(p) : ' ';
    });
    rows.push([String(s.segment), ...marks, `${s.good}/${e.width}`, s.verdict]);
  }
  lines.push(
    columns(rows, [0])
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  lines.push('', `  ${LEGEND}`);
  lines.push(...topologyLines(e));
  if (verbose) {
    const first = e.segments[0];
    if (first) {
      lines.push('', '  pillars:');
      lines.push(
        columns(first.pillars.map((p) => [`p${p.pillar}`, `unit ${p.unit}`, p.bucket]))
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n'),
      );
    }
    const bad = e.segments.flatMap((s) =>
      s.pillars.filter((p) => pillarMark(p) !== '\u2713').map((p) => ({ s, p })),
    );
    if (bad.length > 0) {
      lines.push('', '  defects:');
      for (const { s, p } of bad) {
        lines.push(
          `    segment ${s.segment} p${p.pillar} (unit ${p.unit}, ${p.bucket}/${p.key}): ${p.defect ?? 'bad'}${p.detail ? `: ${p.detail}` : ''}`,
        );
      }
    }
  }
  return lines.join('\n');
}

/**
 * When the vault's topology changed since the revision was written (a replacement, a drain), a
 * line per pillar: its unit under the revision's topology, its unit under the current one, and
 * the unit that holds it now (the old one until the topology job relocates it).
 */
function topologyLines(e: Explanation): string[] {
  const written = e.topologies?.find((t) => t.id === e.topology);
  const current = e.topologies?.find((t) => t.id !== e.topology);
  if (!written || !current) return [];
  const short = (id: string) => id.slice(0, 12);
  const lines = [
    '',
    `  topology: written under ${short(written.id)} (${written.state}), vault now at ${short(current.id)} (${current.state})`,
  ];
  const pillars = e.segments[0]?.pillars ?? [];
  for (const p of pillars) {
    const was = p.units?.[written.id];
    const now = p.units?.[current.id];
    const then = was === undefined ? 'no unit' : `unit ${was}`;
    const change =
      was === now
        ? `${then} under both`
        : `${then} (written under ${short(written.id)}) -> ${now === undefined ? 'no such pillar' : `unit ${now}`} (current ${short(current.id)})`;
    lines.push(`    pillar ${p.pillar}: ${change}; held on unit ${p.unit}`);
  }
  return lines;
}

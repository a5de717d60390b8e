/**
 * The changes an operator may propose to a vault's topology, and the new topology each makes:
 * replace one pillar's unit, drain a unit (replace it with a free unit of the pool), or
 * re-stripe (new n, k, T and segment size). Every rule a change can break is a 400 naming it.
 */
import { z } from 'zod';
import { InvalidParameterError } from '../errors.ts';
import { integer, parseWith, strictObject } from '../validate.ts';
import { type PoolView, type Topology, topologyId } from './topology.ts';

export type TopologyChange =
  | { kind: 'replace'; unit: number; with: number }
  | { kind: 'drain'; unit: number }
  | {
      kind: 'restripe';
      width: number;
      readThreshold: number;
      writeThreshold: number;
      segmentSize?: number;
    };

const MAX_WIDTH = 32;
/** A restripe's segment size bounds: a vault's own (shared/store/vault.ts). */
export const MIN_SEGMENT_SIZE = 64 * 1024;
export const MAX_SEGMENT_SIZE = 64 * 1024 * 1024;

const replaceSchema = strictObject(
  {
    replace: strictObject(
      { unit: integer(0, 255), with: integer(0, 255) },
      'a replace field (unit, with)',
    ),
  },
  'a topology change (replace, drain, or width/readThreshold/writeThreshold/segmentSize)',
);
const drainSchema = strictObject(
  { drain: integer(0, 255) },
  'a topology change (replace, drain, or width/readThreshold/writeThreshold/segmentSize)',
);
const restripeSchema = strictObject(
  {
    width: integer(1, MAX_WIDTH),
    readThreshold: integer(1, MAX_WIDTH),
    writeThreshold: integer(1, MAX_WIDTH),
    segmentSize: integer(MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE).optional(),
  },
  'a topology change (replace, drain, or width/readThreshold/writeThreshold/segmentSize)',
).superRefine((g, ctx) => {
  // The geometry's own rules, before any topology is looked at (the pool's come with it).
  if (g.readThreshold > g.width)
    ctx.addIssue({
      code: 'custom',
      path: ['readThreshold'],
      message: `k must not exceed n: readThreshold ${g.readThreshold} > width ${g.width}`,
    });
  else if (g.writeThreshold < g.readThreshold || g.writeThreshold > g.width)
    ctx.addIssue({
      code: 'custom',
      path: ['writeThreshold'],
      message: `must be between readThreshold (${g.readThreshold}) and width (${g.width}), got ${g.writeThreshold}`,
    });
});

/** The body of `POST /vaults/{vault}/topology`, for the API description. */
export const topologyChangeSchema = z.union([replaceSchema, drainSchema, restripeSchema]);

/**
 * Parses `POST /vaults/{vault}/topology`'s body: `{"replace":{"unit","with"}}`, `{"drain":unit}`
 * or `{"width","readThreshold","writeThreshold","segmentSize"?}`.
 * @throws InvalidParameterError naming the field.
 */
export function parseTopologyChange(body: unknown): TopologyChange {
  if (typeof body === 'object' && body !== null && 'replace' in body) {
    const r = parseWith(replaceSchema, body).replace;
    return { kind: 'replace', unit: r.unit, with: r.with };
  }
  if (typeof body === 'object' && body !== null && 'drain' in body)
    return { kind: 'drain', unit: parseWith(drainSchema, body).drain };
  const r = parseWith(restripeSchema, body);
  return { kind: 'restripe', ...r };
}

/**
 * The topology `change` makes of `current` (whose id is `parent`), for a pool of `poolSize`
 * units placed by `pool`. `usage[i]` is how many vaults unit i serves: a drain or a wider
 * re-stripe takes the least used free units, lowest index first among equals. `edgeUnits` hold
 * pre-positioned slices only (shared/edge/): they are never part of a vault's width.
 * @throws InvalidParameterError naming the rule the change breaks.
 */
export function applyChange(
  current: Topology,
  change: TopologyChange,
  poolSize: number,
  pool: PoolView,
  usage: number[] = [],
  edgeUnits: readonly number[] = [],
): Topology {
  const inVault = current.units.map((u) => u.unit);
  const parent = topologyId(current);
  const homeUnits = poolSize - edgeUnits.filter((u) => u < poolSize).length;
  const free = [...Array(poolSize).keys()]
    .filter((u) => !inVault.includes(u) && !edgeUnits.includes(u))
    .sort((a, b) => (usage[a] ?? 0) - (usage[b] ?? 0) || a - b);
  const place = (unit: number) => ({ unit, ...pool(unit) });
  if (change.kind === 'replace' || change.kind === 'drain') {
    const field = change.kind === 'replace' ? 'replace.unit' : 'drain';
    const pillar = inVault.indexOf(change.unit);
    if (pillar < 0)
      throw new InvalidParameterError(
        field,
        `unit ${change.unit} is not a unit of vault "${current.vault}" (its units are ${inVault.join(', ')})`,
      );
    let target: number;
    if (change.kind === 'replace') {
      target = change.with;
      if (target >= poolSize)
        throw new InvalidParameterError(
          'replace.with',
          `unit ${target} is outside the pool of ${poolSize} units (0..${poolSize - 1})`,
        );
      if (edgeUnits.includes(target))
        throw new InvalidParameterError(
          'replace.with',
          `unit ${target} is an edge unit: it holds pre-positioned slices only, never a pillar of a vault`,
        );
      if (inVault.includes(target))
        throw new InvalidParameterError(
          'replace.with',
          `unit ${target} already holds pillar ${inVault.indexOf(target)} of vault "${current.vault}"; replace with a unit outside the vault`,
        );
    } else {
      const pick = free[0];
      if (pick === undefined)
        throw new InvalidParameterError(
          'drain',
          `every unit of the pool of ${poolSize} is in vault "${current.vault}": there is none to drain unit ${change.unit} to`,
        );
      target = pick;
    }
    const units = current.units.map((u, i) => (i === pillar ? place(target) : u));
    return { ...current, parent, units };
  }
  const { width, readThreshold, writeThreshold } = change;
  if (width > homeUnits)
    throw new InvalidParameterError(
      'width',
      `must be at most the pool's ${homeUnits} units${edgeUnits.length > 0 ? ` (edge units ${edgeUnits.join(', ')} are not counted)` : ''}, got ${width}`,
    );
  if (readThreshold > width)
    throw new InvalidParameterError(
      'readThreshold',
      `k must not exceed n: readThreshold ${readThreshold} > width ${width}`,
    );
  if (writeThreshold < readThreshold || writeThreshold > width)
    throw new InvalidParameterError(
      'writeThreshold',
      `must be between readThreshold (${readThreshold}) and width (${width}), got ${writeThreshold}`,
    );
  const segmentSize = change.segmentSize ?? current.segmentSize;
  if (
    width === current.width &&
    readThreshold === current.readThreshold &&
    writeThreshold === current.writeThreshold &&
    segmentSize === current.segmentSize
  )
    throw new InvalidParameterError(
      'width',
      "the geometry is the vault's current one already: change width, readThreshold, writeThreshold or segmentSize",
    );
  // The vault's units keep their pillars; a wider vault adds the least used free units.
  const units =
    width <= current.units.length
      ? current.units.slice(0, width)
      : [...current.units, ...free.slice(0, width - current.units.length).map(place)];
  return { ...current, parent, units, width, readThreshold, writeThreshold, segmentSize };
}

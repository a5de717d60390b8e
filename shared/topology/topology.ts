/**
 * A vault's topology (seed 004, "consensus on content-addressed topology files"): the units of
 * its pillars (with bucket, region and endpoint), its geometry (n, k, T, segment size) and the
 * hash of the topology it replaces. The document is canonical JSON (keys sorted, no spaces), and
 * its SHA-256 is its id, so two parties that hold the same id hold the same layout.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { integer, parseWith, strictObject } from '../validate.ts';

/** One pillar's storage unit, as the topology pins it. */
export interface TopologyUnit {
  unit: number;
  bucket: string;
  region: string;
  /** The S3 endpoint the unit is reached at ('' for the region's default). */
  endpoint: string;
}

/** The topology document. Field order does not matter: `canonicalJson` sorts keys. */
export interface Topology {
  vault: string;
  /** The id of the topology this one replaces; null for a vault's first (genesis). */
  parent: string | null;
  /** Pillar i lives on units[i]. */
  units: TopologyUnit[];
  /** n */
  width: number;
  /** k */
  readThreshold: number;
  /** T */
  writeThreshold: number;
  segmentSize: number;
}

/** Where each unit of the pool is: what a topology pins for it. */
export type PoolView = (unit: number) => Omit<TopologyUnit, 'unit'>;

/** JSON with object keys sorted at every depth: one byte string per document. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The content address of a topology: SHA-256 of its canonical JSON, in hex. */
export function topologyId(topology: Topology): string {
  return createHash('sha256').update(canonicalJson(topology)).digest('hex');
}

/** The geometry and units of a vault as the store keeps them. */
export interface VaultLayout {
  name: string;
  units: number[];
  width: number;
  readThreshold: number;
  writeThreshold: number;
  segmentSize: number;
}

/** A vault's first topology: its layout at creation, with no parent. */
export function genesisTopology(vault: VaultLayout, pool: PoolView): Topology {
  return {
    vault: vault.name,
    parent: null,
    units: vault.units.map((unit) => ({ unit, ...pool(unit) })),
    width: vault.width,
    readThreshold: vault.readThreshold,
    writeThreshold: vault.writeThreshold,
    segmentSize: vault.segmentSize,
  };
}

/** Unit numbers in pillar order. */
export function unitNumbers(topology: Topology): number[] {
  return topology.units.map((u) => u.unit);
}

const SHA256 = /^[0-9a-f]{64}$/;
const MAX_WIDTH = 32;

const topologyUnitSchema = strictObject(
  {
    unit: integer(0, 255),
    bucket: z.string({ error: 'must be a string' }),
    region: z.string({ error: 'must be a string' }),
    endpoint: z.string({ error: 'must be a string' }),
  },
  'a topology unit field',
);

/** A topology document as it travels to the units: each unit checks it before voting. */
export const topologySchema: z.ZodType<Topology> = strictObject(
  {
    vault: z.string({ error: 'must be a string' }).min(1, 'must not be empty'),
    parent: z.string().regex(SHA256, 'must be a SHA-256 in hex').nullable(),
    units: z.array(topologyUnitSchema, { error: 'must be a list' }).min(1).max(MAX_WIDTH),
    width: integer(1, MAX_WIDTH),
    readThreshold: integer(1, MAX_WIDTH),
    writeThreshold: integer(1, MAX_WIDTH),
    segmentSize: integer(1, 2 ** 31),
  },
  'a topology field',
).superRefine((t, ctx) => {
  if (t.units.length !== t.width)
    ctx.addIssue({ code: 'custom', path: ['units'], message: 'must list exactly width units' });
  if (new Set(t.units.map((u) => u.unit)).size !== t.units.length)
    ctx.addIssue({ code: 'custom', path: ['units'], message: 'must not repeat a unit' });
  if (t.readThreshold > t.width)
    ctx.addIssue({ code: 'custom', path: ['readThreshold'], message: 'k must not exceed n' });
  if (t.writeThreshold < t.readThreshold || t.writeThreshold > t.width)
    ctx.addIssue({
      code: 'custom',
      path: ['writeThreshold'],
      message: 'T must be between k and n',
    });
});

/** Checks a topology document. @throws InvalidParameterError naming the field. */
export function parseTopology(value: unknown): Topology {
  return parseWith(topologySchema, value, { name: 'topology', qualified: true });
}

/** The first 12 hex digits of an id, for messages and logs. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/**
 * Vaults: named containers, each with its own dispersal parameters over a subset of the pool's
 * storage units, and its own multicast address.
 */
import { z } from 'zod';
import { integer, parseWith, strictObject } from '../validate.ts';

/** A vault's configuration, as stored and as returned by the API. */
export interface Vault {
  name: string;
  /** n: pillars per segment, one storage unit each. */
  width: number;
  /** k: slices needed to read a segment back. */
  readThreshold: number;
  /** T: favorable unit statuses needed per segment before a write becomes visible. */
  writeThreshold: number;
  /** Bytes per segment (the last segment of an object is shorter). */
  segmentSize: number;
  /** Pool indices of the vault's storage units; pillar i lives on units[i]. */
  units: number[];
  /** The vault's multicast address: the `dsn-address` attribute its units check messages by. */
  address: string;
  createdAt: string;
  /**
   * The id (SHA-256) of the vault's current topology (shared/topology/), absent until its first
   * topology is recorded; units and geometry above are that topology's.
   */
  topology?: string;
  /** When that topology became current (epoch ms). */
  topologySince?: number;
}

/**
 * 8 MiB: a 4-of-6 segment is then six 2 MiB slices. Each S3 request costs the same whatever its
 * size (a price per request on AWS, a round trip and a handler call everywhere), so a full read
 * of an 8 MiB object is the index and four slice GETs instead of eight, and a 1 GiB write 768
 * slice PUTs instead of 1536. A writer holds a few segments at a time, well inside its memory.
 */
export const DEFAULT_SEGMENT_SIZE = 8 * 1024 * 1024;
/**
 * Every slice costs an S3 request to write, verify and read: with 4 KiB segments one 4 MiB PUT
 * of a width-8 k = 1 vault was 8,386 S3 PUTs. 64 KiB keeps a request per 64/k KiB or more.
 */
export const MIN_SEGMENT_SIZE = 64 * 1024;
/** A segment is held in memory while it is encoded; 64 MiB keeps a writer well inside Lambda's. */
export const MAX_SEGMENT_SIZE = 64 * 1024 * 1024;
/**
 * GF(2^8) Reed-Solomon would allow 256 shards; each pillar is a unit request per segment and a
 * status per message, so a vault spans at most 32 units.
 */
export const MAX_WIDTH = 32;

/**
 * Segments a function holds at once: the writer two, the reader two ahead of the one it sends,
 * the rebuilder three it checks together. Each is the segment and its n slices of segment / k.
 */
export const SEGMENTS_IN_FLIGHT = 3;

/** Bytes the segments in flight of a vault of this geometry take in a function's memory. */
export function segmentMemory(g: {
  segmentSize: number;
  width: number;
  readThreshold: number;
}): number {
  return Math.ceil(g.segmentSize * (1 + g.width / g.readThreshold) * SEGMENTS_IN_FLIGHT);
}

const MiB = 1024 * 1024;

/** The vault every deployment starts with: 4-of-6, visible once 5 units confirm. */
export const DEFAULT_VAULT = {
  name: 'default',
  width: 6,
  readThreshold: 4,
  writeThreshold: 5,
} as const;

const NAME = /^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/;
const NAME_RULE =
  'must be 3-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit';

/** A vault name: 3 to 63 lowercase letters, digits and hyphens, not at either end. */
export const vaultNameSchema = z.string({ error: NAME_RULE }).regex(NAME, NAME_RULE);

/** The multicast address of a vault. Slashes cannot occur in vault names, so none collide. */
export function vaultAddress(name: string): string {
  return `vault/${name}`;
}

/** A unit's own (unicast) address, always among its subscriptions. */
export function unitAddress(unit: number): string {
  return `unit/${unit}`;
}

/**
 * The body of a create-vault request for a pool of `poolSize` units. The ranges of one field
 * depend on others (k <= T <= n, one unit per pillar), so those are checked once each field
 * is good on its own.
 */
export function createVaultRequestSchema(
  poolSize: number,
  memoryBytes = Number.POSITIVE_INFINITY,
  edgeUnits: readonly number[] = [],
) {
  return strictObject(
    {
      name: vaultNameSchema,
      width: integer(1, Math.min(poolSize - edgeUnits.length, MAX_WIDTH)),
      readThreshold: integer(1, MAX_WIDTH),
      writeThreshold: integer(1, MAX_WIDTH),
      segmentSize: integer(MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE).optional(),
      units: z
        .array(integer(0, poolSize - 1), { error: 'must be a list of unit indices' })
        .optional(),
    },
    'a vault field',
  ).superRefine((req, ctx) => {
    const between = (path: string, value: number, min: number, max: number) => {
      if (value < min || value > max)
        ctx.addIssue({
          code: 'custom',
          path: [path],
          message: `must be between ${min} and ${max}`,
        });
    };
    between('readThreshold', req.readThreshold, 1, req.width);
    between('writeThreshold', req.writeThreshold, req.readThreshold, req.width);
    // Half the memory is left to the runtime, the SDK and the I/O buffers.
    const budget = memoryBytes / 2;
    const segmentSize = req.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    const held = segmentMemory({ ...req, segmentSize });
    if (req.readThreshold >= 1 && req.readThreshold <= req.width && held > budget) {
      const fits = Math.floor(budget / ((1 + req.width / req.readThreshold) * SEGMENTS_IN_FLIGHT));
      ctx.addIssue({
        code: 'custom',
        path: ['segmentSize'],
        message: `${segmentSize}-byte segments with n = ${req.width} and k = ${req.readThreshold} need ${(held / MiB).toFixed(0)} MiB (${SEGMENTS_IN_FLIGHT} segments in flight, each with its n slices of segment / k), over the ${(budget / MiB).toFixed(0)} MiB the functions can spare (half of their ${(memoryBytes / MiB).toFixed(0)} MiB); use segments of at most ${fits} bytes or a larger k`,
      });
    }
    if (req.units === undefined) return;
    if (req.units.length !== req.width) {
      ctx.addIssue({
        code: 'custom',
        path: ['units'],
        message: `must list exactly width (${req.width}) unit indices`,
      });
    } else if (new Set(req.units).size !== req.units.length) {
      ctx.addIssue({ code: 'custom', path: ['units'], message: 'must not repeat a unit' });
    }
    req.units.forEach((unit, i) => {
      if (edgeUnits.includes(unit))
        ctx.addIssue({
          code: 'custom',
          path: ['units', i],
          message: `unit ${unit} is an edge unit: edge units hold staged copies, never a vault's pillars`,
        });
    });
  });
}

export type CreateVaultRequest = z.output<ReturnType<typeof createVaultRequestSchema>>;

/** Checks a vault name. @throws InvalidParameterError naming `field`. */
export function validateVaultName(name: unknown, field = 'name'): string {
  return parseWith(vaultNameSchema, name, { name: field });
}

/**
 * Validates a create-vault request against a pool of `poolSize` units, and its segments in
 * flight against `memoryBytes` (the memory of the functions that hold segments), and completes it.
 * Without `units`, the vault takes the `width` least used units (`usage[i]` vaults on unit i),
 * lowest index first among equals, which spreads vaults over the pool. Edge units (`edgeUnits`)
 * are never taken, and naming one is refused.
 * @throws InvalidParameterError naming the field and the rule.
 */
export function planVault(
  body: unknown,
  poolSize: number,
  usage: number[],
  now = new Date(),
  memoryBytes?: number,
  edgeUnits: readonly number[] = [],
): Vault {
  const req = parseWith(createVaultRequestSchema(poolSize, memoryBytes, edgeUnits), body);
  const units =
    req.units ??
    [...Array(poolSize).keys()]
      .filter((u) => !edgeUnits.includes(u))
      .sort((a, b) => (usage[a] ?? 0) - (usage[b] ?? 0) || a - b)
      .slice(0, req.width)
      .sort((a, b) => a - b);
  return {
    name: req.name,
    width: req.width,
    readThreshold: req.readThreshold,
    writeThreshold: req.writeThreshold,
    segmentSize: req.segmentSize ?? DEFAULT_SEGMENT_SIZE,
    units,
    address: vaultAddress(req.name),
    createdAt: now.toISOString(),
  };
}

/** Addresses a unit subscribes to: its own, plus those of the vaults it serves. */
export function unitSubscriptions(unit: number, vaults: Vault[]): string[] {
  return [
    unitAddress(unit),
    ...vaults.filter((v) => v.units.includes(unit)).map((v) => v.address),
  ].sort();
}

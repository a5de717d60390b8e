/**
 * Vaults: named containers, each with its own dispersal parameters over a subset of the pool's
 * storage units, and its own multicast address.
 */
import { InvalidParameterError } from '../errors.ts';

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
  /** The vault's multicast address: the `dsn-address` attribute unit subscriptions filter on. */
  address: string;
  createdAt: string;
}

/**
 * 8 MiB: a 4-of-6 segment is then six 2 MiB slices. Each S3 request costs the same whatever its
 * size (a price per request on AWS, a round trip and a handler call everywhere), so a full read
 * of an 8 MiB object is the index and four slice GETs instead of eight, and a 1 GiB write 768
 * slice PUTs instead of 1536. A writer holds a few segments at a time, well inside its memory.
 */
export const DEFAULT_SEGMENT_SIZE = 8 * 1024 * 1024;
export const MIN_SEGMENT_SIZE = 4 * 1024;
/** A segment is held in memory while it is encoded; 64 MiB keeps a writer well inside Lambda's. */
export const MAX_SEGMENT_SIZE = 64 * 1024 * 1024;
/** GF(2^8) Reed-Solomon allows at most 256 shards. */
export const MAX_WIDTH = 256;

/** The vault every deployment starts with: 4-of-6, visible once 5 units confirm. */
export const DEFAULT_VAULT = {
  name: 'default',
  width: 6,
  readThreshold: 4,
  writeThreshold: 5,
} as const;

const NAME = /^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/;

/** The multicast address of a vault. Slashes cannot occur in vault names, so none collide. */
export function vaultAddress(name: string): string {
  return `vault/${name}`;
}

/** A unit's own (unicast) address, always among its subscriptions. */
export function unitAddress(unit: number): string {
  return `unit/${unit}`;
}

export interface CreateVaultRequest {
  name: unknown;
  width: unknown;
  readThreshold: unknown;
  writeThreshold: unknown;
  segmentSize?: unknown;
  units?: unknown;
}

const KNOWN_FIELDS = new Set([
  'name',
  'width',
  'readThreshold',
  'writeThreshold',
  'segmentSize',
  'units',
]);

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidParameterError(field, `must be an integer, got ${JSON.stringify(value)}`);
  }
  if (value < min || value > max) {
    throw new InvalidParameterError(field, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** Checks a vault name: 3 to 63 lowercase letters, digits and hyphens, not at either end. */
export function validateVaultName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidParameterError(
      field,
      `must be 3-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit; got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/**
 * Validates a create-vault request against a pool of `poolSize` units and completes it.
 * Without `units`, the vault takes the `width` least used units (`usage[i]` vaults on unit i),
 * lowest index first among equals, which spreads vaults over the pool.
 * @throws InvalidParameterError naming the field and the rule.
 */
export function planVault(
  body: unknown,
  poolSize: number,
  usage: number[],
  now = new Date(),
): Vault {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidParameterError('body', 'must be a JSON object');
  }
  for (const key of Object.keys(body)) {
    if (!KNOWN_FIELDS.has(key)) {
      throw new InvalidParameterError(
        key,
        `is not a vault field (known: ${[...KNOWN_FIELDS].join(', ')})`,
      );
    }
  }
  const req = body as CreateVaultRequest;
  const name = validateVaultName(req.name);
  const width = integer('width', req.width, 1, Math.min(poolSize, MAX_WIDTH));
  const readThreshold = integer('readThreshold', req.readThreshold, 1, width);
  const writeThreshold = integer('writeThreshold', req.writeThreshold, readThreshold, width);
  const segmentSize =
    req.segmentSize === undefined
      ? DEFAULT_SEGMENT_SIZE
      : integer('segmentSize', req.segmentSize, MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE);
  let units: number[];
  if (req.units === undefined) {
    units = [...Array(poolSize).keys()]
      .sort((a, b) => (usage[a] ?? 0) - (usage[b] ?? 0) || a - b)
      .slice(0, width)
      .sort((a, b) => a - b);
  } else {
    if (!Array.isArray(req.units) || req.units.length !== width) {
      throw new InvalidParameterError('units', `must list exactly width (${width}) unit indices`);
    }
    units = req.units.map((u, i) => integer(`units[${i}]`, u, 0, poolSize - 1));
    if (new Set(units).size !== units.length) {
      throw new InvalidParameterError('units', 'must not repeat a unit');
    }
  }
  return {
    name,
    width,
    readThreshold,
    writeThreshold,
    segmentSize,
    units,
    address: vaultAddress(name),
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

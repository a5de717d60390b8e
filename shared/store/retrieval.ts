/**
 * Client-side reads ("downlink"), the way back of client-side dispersal (dispersal.ts): the
 * client rebuilds segments itself from slices it GETs straight from the units' buckets. The API
 * looks the key up, applies the caller's read gate, and answers the revision's manifest with
 * presigned GET URLs of a window of its segments' slices, every pillar of each, so a client
 * that meets a missing or damaged data slice can turn to parity ones. Each URL names one slice
 * key and expires soon. The code is systematic: while the data slices are good, nothing is
 * decoded. Damage a client meets comes back (`reportDamage`) for the rebuilder, which checks
 * the segment itself before it rewrites anything, so a false report costs a check, not data.
 *
 * Windows after the first name the revision the first one answered: if the key has moved to
 * another revision meanwhile, the window is refused (412), as a ranged read through the API
 * refuses a changed object, so a read never mixes two revisions.
 */

import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { formatSliceName, sliceNamesOf } from '../codec/index.ts';
import { InvalidParameterError, ObjectNotFoundError, PreconditionFailedError } from '../errors.ts';
import { integer, parseWith, resourceId, strictObject } from '../validate.ts';
import { MAX_DISPERSAL_URL_SECONDS, MAX_SEGMENTS_PER_CALL } from './dispersal-request.ts';
import { objectKeySchema } from './object-key.ts';
import type { IndexEntry, ObjectIndex, RepairLog, SlicePresigner } from './ports.ts';
import type { EdgeSlices } from './reader.ts';
import { DAMAGE_DEFECTS, MAX_DAMAGE_PER_REPORT, type SliceDamage } from './slice-damage.ts';

export interface RetrievalDeps {
  index: ObjectIndex;
  presigner: SlicePresigner;
  repair: RepairLog;
  clock: Clock;
}

/** How long slice URLs work by default: a window is asked shortly before its segments are read. */
export const RETRIEVAL_URL_SECONDS = 300;
export { MAX_DAMAGE_PER_REPORT };

/** The body of `POST /vaults/{vault}/retrievals`: the key, and which window of segments. */
export const openRetrievalSchema = strictObject(
  {
    key: objectKeySchema,
    /** The revision an earlier window answered: refused (412) once the key points elsewhere. */
    revision: resourceId().optional(),
    /** The window's first segment (default 0). */
    first: integer(0, 9_999_999_999).optional(),
    /** Segments in the window (default and most: MAX_SEGMENTS_PER_CALL). */
    count: integer(1, MAX_SEGMENTS_PER_CALL).optional(),
    expiresInSeconds: integer(1, MAX_DISPERSAL_URL_SECONDS).optional(),
  },
  'a retrieval field',
);

/** One slice's URL: a GET of its framed bytes (header, payload, CRC), as units store them. */
export interface RetrievalSliceUrl {
  segment: number;
  pillar: number;
  unit: number;
  url: string;
}

/** The manifest a client needs to rebuild a revision's segments: its index entry's geometry. */
export type RetrievalManifest = Pick<
  IndexEntry,
  | 'vault'
  | 'key'
  | 'revision'
  | 'objectId'
  | 'size'
  | 'sha256'
  | 'segments'
  | 'segmentSize'
  | 'readThreshold'
  | 'units'
  | 'committedAt'
>;

/** A window of a revision's slices, with the manifest. `units[pillar]` holds that pillar. */
export interface Retrieval extends RetrievalManifest {
  /** The window: segments first..first+count-1, cut to the revision's count. */
  first: number;
  count: number;
  expiresAt: string;
  slices: RetrievalSliceUrl[];
  /**
   * Copies of the window's slices staged at edge units for the caller's client group (seed
   * 004's pre-positioning), to be read before the home units' when there are any.
   */
  edge: RetrievalSliceUrl[];
}

/**
 * The edge copies a read may use: the reads' side of pre-positioning (shared/edge), asked with
 * the entry the window is of; `opening` is true for a read's first window only, so a read is
 * counted once for the access statistics however many windows it asks.
 */
export type StagedCopies = (
  entry: IndexEntry,
  opening: boolean,
) => Promise<Pick<EdgeSlices, 'revision' | 'placement'> | undefined>;

/**
 * Looks `body.key` up, lets `gate` refuse the read (the access system's scan gate), and presigns
 * GETs of every slice of the window's segments.
 * @throws ObjectNotFoundError, PreconditionFailedError (the key moved off `body.revision`),
 * InvalidParameterError (a window past the last segment), and whatever `gate` throws.
 */
export async function openRetrieval(
  deps: RetrievalDeps,
  vault: string,
  body: unknown,
  gate: (entry: IndexEntry) => void,
  staged?: StagedCopies,
): Promise<Retrieval> {
  const request = parseWith(openRetrievalSchema, body);
  const entry = await deps.index.get(vault, request.key);
  if (!entry) throw new ObjectNotFoundError(vault, request.key);
  gate(entry);
  if (request.revision !== undefined && request.revision !== entry.revision)
    throw new PreconditionFailedError(
      request.key,
      `it now holds revision ${entry.revision}, not ${request.revision}: read it again from the start`,
    );
  const first = request.first ?? 0;
  if (first > 0 && first >= entry.segments)
    throw new InvalidParameterError(
      'first',
      `must be below the object's ${entry.segments} segments, got ${first}`,
    );
  const count = Math.min(request.count ?? MAX_SEGMENTS_PER_CALL, entry.segments - first);
  const seconds = request.expiresInSeconds ?? RETRIEVAL_URL_SECONDS;
  const name = sliceNamesOf(entry);
  const window = Array.from({ length: count }, (_, i) => first + i);
  const home = window.flatMap((segment) =>
    entry.units.map((unit, pillar) => ({
      segment,
      pillar,
      unit,
      key: formatSliceName(name(segment, pillar)),
    })),
  );
  const copies = await staged?.(entry, request.revision === undefined);
  const atEdge: typeof home = [];
  if (copies?.revision === entry.revision)
    for (const segment of window)
      for (const [pillar, at] of (await copies.placement(segment)) ?? [])
        atEdge.push({ segment, pillar, ...at });
  const sign = (targets: typeof home) =>
    Promise.all(
      targets.map(
        async ({ segment, pillar, unit, key }): Promise<RetrievalSliceUrl> => ({
          segment,
          pillar,
          unit,
          url: await deps.presigner.presignGet(unit, key, seconds),
        }),
      ),
    );
  const [slices, edge] = await Promise.all([sign(home), sign(atEdge)]);
  return {
    vault: entry.vault,
    key: entry.key,
    revision: entry.revision,
    objectId: entry.objectId,
    size: entry.size,
    sha256: entry.sha256,
    segments: entry.segments,
    segmentSize: entry.segmentSize,
    readThreshold: entry.readThreshold,
    units: entry.units,
    committedAt: entry.committedAt,
    first,
    count,
    expiresAt: new Date(deps.clock.now() + seconds * 1000).toISOString(),
    slices,
    edge,
  };
}

/** The body of `POST /vaults/{vault}/retrievals/damage`: what a client's read met. */
export const retrievalDamageSchema = strictObject(
  {
    key: objectKeySchema,
    revision: resourceId(),
    damage: z
      .array(
        strictObject(
          {
            segment: integer(0, 9_999_999_999),
            pillar: integer(0, 255),
            defect: z.enum(DAMAGE_DEFECTS, {
              error: `must be one of ${DAMAGE_DEFECTS.join(', ')}`,
            }),
            detail: z.string().max(1000, 'must be at most 1000 characters'),
          },
          'a damage field',
        ),
        { error: 'must be a list' },
      )
      .min(1, 'must name at least one slice')
      .max(MAX_DAMAGE_PER_REPORT, `must name at most ${MAX_DAMAGE_PER_REPORT} slices`),
  },
  'a damage report field',
);

/**
 * Queues the damage a client's read met for the rebuilder, as a server-side read queues its
 * own. Only damage of the revision the key holds counts (the rebuilder would skip any other),
 * and the unit of each pillar comes from the manifest, not from the client.
 * @returns how many records were queued.
 * @throws ObjectNotFoundError, InvalidParameterError (a segment or pillar the revision lacks),
 * and whatever `gate` throws.
 */
export async function reportDamage(
  deps: RetrievalDeps,
  vault: string,
  body: unknown,
  gate: (entry: IndexEntry) => void,
): Promise<{ recorded: number }> {
  const report = parseWith(retrievalDamageSchema, body);
  const entry = await deps.index.get(vault, report.key);
  if (!entry) throw new ObjectNotFoundError(vault, report.key);
  gate(entry);
  if (entry.revision !== report.revision) return { recorded: 0 };
  const at = deps.clock.date().toISOString();
  const damage = report.damage.map((d, i): SliceDamage => {
    if (d.segment >= entry.segments)
      throw new InvalidParameterError(
        `damage[${i}].segment`,
        `must be below the object's ${entry.segments} segments, got ${d.segment}`,
      );
    const unit = entry.units[d.pillar];
    if (unit === undefined)
      throw new InvalidParameterError(
        `damage[${i}].pillar`,
        `must be below the vault's width ${entry.units.length}, got ${d.pillar}`,
      );
    return {
      vault: entry.vault,
      key: entry.key,
      revision: entry.revision,
      segment: d.segment,
      pillar: d.pillar,
      unit,
      defect: d.defect,
      detail: `reported by a client's read: ${d.detail}`,
      at,
    };
  });
  await deps.repair.record(damage);
  return { recorded: damage.length };
}

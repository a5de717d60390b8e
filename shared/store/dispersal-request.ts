/**
 * What a client sends to disperse an object itself (dispersal.ts): the bodies of the open, of
 * `.../urls` and `.../segments`, and of the complete, with the limits they are held to.
 */
import { z } from 'zod';
import { integer, nonEmptyString, strictObject } from '../validate.ts';
import { CLIENT_URL_LIFETIME_MS } from './janitor.ts';
import { objectKeySchema } from './object-key.ts';

/** How long slice URLs work by default: short, since each is asked right before its PUT. */
export const DISPERSAL_URL_SECONDS = 300;
/** The longest a client may ask for (an hour, as the staged upload's part URLs). */
export const MAX_DISPERSAL_URL_SECONDS = CLIENT_URL_LIFETIME_MS / 1000;
/** Segments one call names at most: keeps an answer of URLs far inside Lambda's 6 MB. */
export const MAX_SEGMENTS_PER_CALL = 32;
/** The body of `POST /vaults/{vault}/dispersals`: the key, its attributes and precondition. */
export const openDispersalSchema = strictObject(
  {
    key: objectKeySchema,
    contentType: z.string().optional(),
    contentDisposition: z.string().optional(),
    meta: z.record(z.string(), z.string()).optional(),
    ifMatch: z.string().optional(),
    ifNoneMatch: z.string().optional(),
    /**
     * The client's own token for this open (listed with the dispersal): an open made again
     * after an answer it lost is told from another by it.
     */
    token: z
      .string({ error: 'must be 16 to 64 letters, digits, - or _' })
      .regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be 16 to 64 letters, digits, - or _')
      .optional(),
  },
  'a dispersal field',
);

const CRC32 = z
  .string({ error: 'must be a base64 CRC-32 (8 characters)' })
  .regex(/^[A-Za-z0-9+/]{6}==$/, 'must be a base64 CRC-32 (8 characters)');

const sliceSchema = strictObject(
  {
    pillar: integer(0, 255),
    crc32: CRC32,
    size: integer(1, 2 ** 32),
    /** Why the client could not place it (its unit then reports a failure). */
    missing: nonEmptyString().optional(),
  },
  'a slice field',
);

const segmentSchema = strictObject(
  {
    segment: integer(0, 9_999_999_999),
    slices: z.array(sliceSchema, { error: 'must be a list' }),
  },
  'a segment field',
);

/** The body of `.../urls` and `.../segments`: segments with each pillar's slice CRC and size. */
export const dispersalSegmentsSchema = strictObject(
  {
    segments: z
      .array(segmentSchema, { error: 'must be a list' })
      .min(1, 'must name at least one segment')
      .max(MAX_SEGMENTS_PER_CALL, `must name at most ${MAX_SEGMENTS_PER_CALL} segments`),
    /** `.../urls` only: how long the URLs work. */
    expiresInSeconds: integer(1, MAX_DISPERSAL_URL_SECONDS).optional(),
  },
  'a dispersal field',
);

/** The body of `.../complete`: what the client encoded, as the server's writer records it. */
export const completeDispersalSchema = strictObject(
  {
    segments: integer(1, 9_999_999_999),
    size: integer(0, Number.MAX_SAFE_INTEGER),
    sha256: z
      .string({ error: 'must be 64 lowercase hex digits' })
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  },
  'a dispersal field',
);

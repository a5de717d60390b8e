/**
 * The messages of the multicast write (seed 000): the writer's one message per segment to the
 * vault's multicast address, carrying every slice name with its slice (inline) or a reference to
 * where the writer put it (claim-check); and each unit's status message back (all the statuses
 * one invocation of a unit has for an address, so a batch costs one publish). Each has a strict
 * schema, since a unit must never act on a malformed message, nor the committer count one.
 */

import { z } from 'zod';
import { parseSliceName } from '../codec/index.ts';
import { InvalidSliceNameError } from '../errors.ts';
import {
  integer,
  nonEmptyString,
  parseJsonWith,
  parseWith,
  preview,
  strictObject,
} from '../validate.ts';
import type { UnitStatus } from './revision.ts';
import { unitAddress } from './vault.ts';

/** The SNS message attribute that carries the multicast address (the vault's); units check it. */
export const ADDRESS_ATTRIBUTE = 'dsn-address';

/**
 * The SNS message attribute (String.Array) that names the units a message is for, as
 * `unit/<i>`; each unit's subscription filters on its own address alone. Routing on the vault
 * address instead would add one filter value per vault to each unit's subscription, and SNS
 * allows 150 in a policy.
 */
export const TARGETS_ATTRIBUTE = 'dsn-to';

/** The unit addresses a segment's message is for: each unit that holds one of its slices. */
export function targetsOf(message: UnitMessage): string[] {
  return [...new Set(message.slices.map((s) => s.unit))].sort((a, b) => a - b).map(unitAddress);
}

/** SNS and SQS take 256 KiB per message; slices above this many bytes travel by reference. */
export const INLINE_SLICE_BUDGET = 150 * 1024;

export interface SliceEnvelope {
  pillar: number;
  /** Pool unit that stores this pillar. */
  unit: number;
  /** Canonical slice name: also the key in the unit's bucket. */
  name: string;
  /** CRC-32 of the whole slice object, base64 (S3's ChecksumCRC32). */
  crc32: string;
  size: number;
  /** The slice bytes, base64, when small enough to ride in the message. */
  data?: string;
  /** Why the writer could not place the slice (its unit then reports a failure). */
  missing?: string;
}

export interface UnitMessage {
  v: 1;
  vault: string;
  /** The multicast address the writer sent to (also in the message attribute). */
  address: string;
  revision: string;
  segment: number;
  slices: SliceEnvelope[];
  /** The id of the vault topology the revision is written under (absent before it had one). */
  topology?: string;
}

/** Segment numbers fit ten digits in slice names. */
const SEGMENT = integer(0, 9_999_999_999);
/** GF(2^8) Reed-Solomon: at most 256 pillars, and units are named by the same byte. */
const PILLAR = integer(0, 255);
const VERSION = z.literal(1, {
  error: (issue) => `unknown message version ${preview(issue.input)}`,
});

/** A canonical slice name (the key in the unit's bucket), checked by the codec's parser. */
const sliceNameSchema = nonEmptyString().superRefine((name, ctx) => {
  try {
    parseSliceName(name);
  } catch (err) {
    if (!(err instanceof InvalidSliceNameError)) throw err;
    ctx.addIssue({ code: 'custom', message: `must be a slice name (${err.rule})` });
  }
});

const sliceEnvelopeSchema: z.ZodType<SliceEnvelope> = strictObject(
  {
    pillar: PILLAR,
    unit: PILLAR,
    name: sliceNameSchema,
    crc32: nonEmptyString(),
    size: integer(0, 2 ** 32),
    data: nonEmptyString().optional(),
    missing: nonEmptyString().optional(),
  },
  'a slice envelope field',
);

/** A unit message, as the writer sends it; a unit never acts on anything else. */
export const unitMessageSchema: z.ZodType<UnitMessage> = strictObject(
  {
    v: VERSION,
    vault: nonEmptyString(),
    address: nonEmptyString(),
    revision: nonEmptyString(),
    segment: SEGMENT,
    slices: z.array(sliceEnvelopeSchema, { error: 'must be a list' }),
    topology: nonEmptyString().optional(),
  },
  'a unit message field',
);

/** Parses and checks a unit message. @throws InvalidParameterError naming the bad field. */
export function parseUnitMessage(body: string): UnitMessage {
  return parseJsonWith(unitMessageSchema, body, { name: 'message' });
}

/** A unit's status message: the statuses of one invocation, for one address, in one publish. */
export interface StatusMessage {
  v: 1;
  statuses: UnitStatus[];
}

/** One unit's answer for one slice. */
export const unitStatusSchema: z.ZodType<UnitStatus> = strictObject(
  {
    vault: nonEmptyString(),
    revision: nonEmptyString(),
    segment: SEGMENT,
    pillar: PILLAR,
    unit: PILLAR,
    ok: z.boolean({ error: 'must be a boolean' }),
    reason: z.string().optional(),
  },
  'a unit status field',
);

/** A batched status message; `statuses` tells it from a bare status (see below). */
export const statusMessageSchema: z.ZodType<StatusMessage> = strictObject(
  {
    v: VERSION,
    statuses: z
      .array(unitStatusSchema, { error: 'must be a non-empty list' })
      .min(1, 'must be a non-empty list'),
  },
  'a status message field',
);

/**
 * Parses and checks a status message. A bare status object, as units sent one per message
 * before they batched, is still accepted. @throws InvalidParameterError naming the bad field.
 */
export function parseStatusMessage(body: string): UnitStatus[] {
  const subject = { name: 'status', notJson: 'is not JSON' };
  const raw = parseJsonWith(z.unknown(), body, subject);
  if (typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'statuses'))
    return parseWith(statusMessageSchema, raw, { ...subject, qualified: true }).statuses;
  return [parseWith(unitStatusSchema, raw, { ...subject, qualified: true })];
}

/**
 * The messages of the multicast write (seed 000): the writer's one message per segment to the
 * vault's multicast address, carrying every slice name with its slice (inline) or a reference to
 * where the writer put it (claim-check); and each unit's status message back (all the statuses
 * one invocation of a unit has for an address, so a batch costs one publish). Parsing checks
 * every field, since a unit must never act on a malformed message.
 */

import { parseSliceName } from '../codec/index.ts';
import { InvalidParameterError } from '../errors.ts';
import type { UnitStatus } from './revision.ts';

/** The SNS message attribute that carries the multicast address; subscriptions filter on it. */
export const ADDRESS_ATTRIBUTE = 'dsn-address';

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
}

function fail(field: string, rule: string): never {
  throw new InvalidParameterError(field, rule);
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(field, `must be an integer ${min}..${max}`);
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(field, 'must be a non-empty string');
  return v;
}

/** Parses and checks a unit message. @throws InvalidParameterError naming the bad field. */
export function parseUnitMessage(body: string): UnitMessage {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(body);
  } catch {
    fail('message', 'is not JSON');
  }
  if (typeof raw !== 'object' || raw === null) fail('message', 'must be an object');
  if (raw.v !== 1) fail('message.v', `unknown message version ${JSON.stringify(raw.v)}`);
  if (!Array.isArray(raw.slices)) fail('message.slices', 'must be a list');
  const slices = raw.slices.map((s: Record<string, unknown>, i: number) => {
    const at = `message.slices[${i}]`;
    const name = str(s?.name, `${at}.name`);
    parseSliceName(name);
    const envelope: SliceEnvelope = {
      pillar: int(s.pillar, `${at}.pillar`, 0, 255),
      unit: int(s.unit, `${at}.unit`, 0, 255),
      name,
      crc32: str(s.crc32, `${at}.crc32`),
      size: int(s.size, `${at}.size`, 0, 2 ** 32),
    };
    if (s.data !== undefined) envelope.data = str(s.data, `${at}.data`);
    if (s.missing !== undefined) envelope.missing = str(s.missing, `${at}.missing`);
    return envelope;
  });
  return {
    v: 1,
    vault: str(raw.vault, 'message.vault'),
    address: str(raw.address, 'message.address'),
    revision: str(raw.revision, 'message.revision'),
    segment: int(raw.segment, 'message.segment', 0, 9_999_999_999),
    slices,
  };
}

/** A unit's status message: the statuses of one invocation, for one address, in one publish. */
export interface StatusMessage {
  v: 1;
  statuses: UnitStatus[];
}

function status(raw: Record<string, unknown>, at: string): UnitStatus {
  if (typeof raw !== 'object' || raw === null) fail(at, 'must be an object');
  if (typeof raw.ok !== 'boolean') fail(`${at}.ok`, 'must be a boolean');
  const parsed: UnitStatus = {
    vault: str(raw.vault, `${at}.vault`),
    revision: str(raw.revision, `${at}.revision`),
    segment: int(raw.segment, `${at}.segment`, 0, 9_999_999_999),
    pillar: int(raw.pillar, `${at}.pillar`, 0, 255),
    unit: int(raw.unit, `${at}.unit`, 0, 255),
    ok: raw.ok,
  };
  if (raw.reason !== undefined) parsed.reason = String(raw.reason);
  return parsed;
}

/**
 * Parses and checks a status message. A bare status object, as units sent one per message
 * before they batched, is still accepted. @throws InvalidParameterError naming the bad field.
 */
export function parseStatusMessage(body: string): UnitStatus[] {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(body);
  } catch {
    fail('status', 'is not JSON');
  }
  if (typeof raw !== 'object' || raw === null) fail('status', 'must be an object');
  if (raw.statuses === undefined) return [status(raw, 'status')];
  if (raw.v !== 1) fail('status.v', `unknown message version ${JSON.stringify(raw.v)}`);
  if (!Array.isArray(raw.statuses) || raw.statuses.length === 0)
    fail('status.statuses', 'must be a non-empty list');
  return raw.statuses.map((s: Record<string, unknown>, i: number) =>
    status(s, `status.statuses[${i}]`),
  );
}

/**
 * Function slices: an item's definition encoded with its vault's own codec into n slices, one
 * per unit, each with the slice header's name and CRC-32, so that a unit's answer is checked
 * before it counts toward ownership. The slice name is derived from (vault, seq).
 */
import { createHash } from 'node:crypto';
import {
  codecFor,
  decodeSlice,
  encodeStream,
  formatSliceName,
  segmentParts,
} from '../codec/index.ts';
import { InvalidSliceError } from '../errors.ts';
import type { WorkDefinition } from './work-item.ts';

interface Shape {
  vault: string;
  seq: number;
  width: number;
  readThreshold: number;
}

/** A slice name's object id (22 base64url characters) and revision for item `seq`. */
function nameOf(s: Shape) {
  const objectId = createHash('sha256')
    .update(`work:${s.vault}:${s.seq}`)
    .digest('base64url')
    .slice(0, 22);
  const revision = `${s.seq.toString(36).padStart(10, '0')}${'0'.repeat(16)}`;
  return (pillar: number) => ({ vault: s.vault, objectId, revision, segment: 0, pillar });
}

/** The n function slices of `definition`, pillar order. */
export async function encodeDefinition(
  definition: WorkDefinition,
  shape: { width: number; readThreshold: number },
): Promise<Uint8Array[]> {
  const bytes = Buffer.from(JSON.stringify(definition), 'utf8');
  const k = shape.readThreshold;
  const named = nameOf({ ...shape, vault: definition.vault, seq: definition.seq });
  const slices = encodeStream(
    (async function* () {
      yield bytes;
    })(),
    {
      codec: codecFor(k, shape.width - k),
      segmentSize: Math.max(1, bytes.length),
      name: (_segment, pillar) => named(pillar),
    },
  );
  for await (const segment of slices) return segment.slices;
  throw new Error('a definition encodes to one segment');
}

/** True when `bytes` is a sound slice of item (vault, seq) at `pillar`. */
export function checkFunctionSlice(bytes: Uint8Array, shape: Shape, pillar: number): boolean {
  try {
    decodeSlice(bytes, formatSliceName(nameOf(shape)(pillar)));
    return true;
  } catch (err) {
    if (err instanceof InvalidSliceError) return false;
    throw err;
  }
}

/**
 * The definition from at least k sound slices (null where a unit gave none).
 * @throws TooFewShardsError, InvalidSliceError
 */
export function decodeDefinition(slices: Array<Uint8Array | null>, shape: Shape): WorkDefinition {
  const named = nameOf(shape);
  const k = shape.readThreshold;
  let length = 0;
  const payloads = slices.map((bytes, pillar) => {
    if (!bytes) return null;
    const { header, payload } = decodeSlice(bytes, formatSliceName(named(pillar)));
    length = header.segmentLength;
    return payload;
  });
  const parts = segmentParts(codecFor(k, shape.width - k), payloads, length);
  return JSON.parse(Buffer.concat(parts).toString('utf8')) as WorkDefinition;
}

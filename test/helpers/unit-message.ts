/**
 * A unit message carrying one small inline slice, as the writer sends it: for tests of how a
 * storage unit stores, verifies and answers redeliveries.
 */

import { encodeSlice, s3Crc32 } from '../../shared/codec/slice-header.ts';
import { formatSliceName, type SliceName } from '../../shared/codec/slice-name.ts';
import type { UnitMessage } from '../../shared/store/multicast.ts';

/** Segment 0, pillar and unit 2, of vault `default` (4 + 2 shards): the message and its slice. */
export function inlineUnitMessage(
  objectId: string,
  revision: string,
): { message: UnitMessage; bytes: Uint8Array; name: SliceName } {
  const name = { vault: 'default', objectId, revision, segment: 0, pillar: 2 };
  const bytes = encodeSlice(
    { name, dataShards: 4, parityShards: 2, segmentLength: 40 },
    new Uint8Array(10).fill(7),
  );
  const message: UnitMessage = {
    v: 1,
    vault: 'default',
    address: 'vault/default',
    revision,
    segment: 0,
    slices: [
      {
        pillar: 2,
        unit: 2,
        name: formatSliceName(name),
        crc32: s3Crc32(bytes),
        size: bytes.length,
        data: Buffer.from(bytes).toString('base64'),
      },
    ],
  };
  return { message, bytes, name };
}

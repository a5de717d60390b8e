/**
 * The codec's platform pieces (shared/codec/platform/): a browser build takes the `.web.ts` ones
 * (package.json `imports`, `browser` condition), Node the `.node.ts` ones. Both must give the
 * same numbers, or a slice dispersed by the console would fail its checksum on the server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32Update as nodeCrc32 } from '../../../shared/codec/platform/crc32.node.ts';
import { crc32Update as webCrc32 } from '../../../shared/codec/platform/crc32.web.ts';
import { createSha256 as nodeSha256 } from '../../../shared/codec/platform/sha256.node.ts';
import { createSha256 as webSha256 } from '../../../shared/codec/platform/sha256.web.ts';

test("the browser's CRC-32 is zlib's: the check value, and any bytes continued from any CRC", () => {
  const check = new TextEncoder().encode('123456789');
  assert.equal(webCrc32(check, 0), 0xcbf43926);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 4096 }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      (bytes, previous) => webCrc32(bytes, previous) === nodeCrc32(bytes, previous),
    ),
    { numRuns: 500 },
  );
});

test("the browser's SHA-256 is node:crypto's, fed in any pieces", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 2048 }), { maxLength: 8 }),
      async (pieces) => {
        const [web, node] = await Promise.all([webSha256(), nodeSha256()]);
        for (const p of pieces) {
          web.update(p);
          node.update(p);
        }
        return web.hex() === node.hex();
      },
    ),
    { numRuns: 200 },
  );
  const empty = await webSha256();
  assert.equal(empty.hex(), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

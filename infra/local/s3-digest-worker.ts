/**
 * A thread of s3-digests.ts: hashes PutObject bodies it is sent as views of SharedArrayBuffers
 * (no copy), and answers each request with its digests.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import type { DigestReply, DigestRequest } from './s3-digests.ts';

const port = parentPort;
if (!port) throw new Error('s3-digest-worker.ts runs as a worker thread only');

/** `algorithm` of `data` as S3 gives it: MD5 (the ETag) in hex, checksums in base64. */
function digest(algorithm: string, data: Uint8Array): string {
  switch (algorithm) {
    case 'MD5':
      return createHash('md5').update(data).digest('hex');
    case 'CRC32': {
      const value = Buffer.alloc(4);
      value.writeUInt32BE(crc32(data) >>> 0);
      return value.toString('base64');
    }
    case 'SHA1':
      return createHash('sha1').update(data).digest('base64');
    case 'SHA256':
      return createHash('sha256').update(data).digest('base64');
    default:
      throw new Error(`no digest ${algorithm}`);
  }
}

port.on('message', (request: DigestRequest) => {
  let reply: DigestReply;
  try {
    const data = new Uint8Array(request.memory, request.offset, request.length);
    const digests: Record<string, string> = {};
    for (const algorithm of request.algorithms) digests[algorithm] = digest(algorithm, data);
    reply = { id: request.id, digests };
  } catch (err) {
    reply = { id: request.id, error: (err as Error).message };
  }
  port.postMessage(reply);
});

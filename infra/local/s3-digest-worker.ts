/**
 * A thread of s3-digests.ts: hashes PutObject bodies it is sent as views of SharedArrayBuffers
 * (no copy), and answers each request with its digests.
 */
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import { fauxqsModule } from './fauxqs-module.ts';
import type { DigestReply, DigestRequest } from './s3-digests.ts';

const port = parentPort;
if (!port) throw new Error('s3-digest-worker.ts runs as a worker thread only');

/**
 * Each request brings its own SharedArrayBuffer object, which keeps the memory it shares alive
 * until this thread's collector frees it, and a thread that allocates this little hardly ever
 * collects: bodies the pool had let go stayed in memory (200 bodies of 8 MiB, each hashed once,
 * held 1.8 GB however often the main thread collected; with this, under 400 MB). So every
 * COLLECT_BYTES of bodies seen, this thread collects (a few milliseconds, here, off the loop).
 * Node gives a thread no collector call of its own; this is the V8 flag's way (`gc` for a new
 * context), turned off again at once so that no other context gets it.
 */
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as (options: { type: 'major'; execution: 'sync' }) => void;
setFlagsFromString('--no-expose-gc');
const COLLECT_BYTES = 256 * 1024 * 1024;
let seen = 0;

/**
 * fauxqs's own checksum (CRC32, SHA1 and SHA256, in base64), so a digest taken from this thread
 * is the value its check would have computed.
 */
const { computeChecksum } = (await fauxqsModule('./s3/checksum.js')) as {
  computeChecksum(algorithm: string, data: Uint8Array): string;
};

/** `algorithm` of `data` as S3 gives it: MD5 (the ETag) in hex, checksums in base64. */
function digest(algorithm: string, data: Uint8Array): string {
  if (algorithm === 'MD5') return createHash('md5').update(data).digest('hex');
  if (['CRC32', 'SHA1', 'SHA256'].includes(algorithm)) return computeChecksum(algorithm, data);
  throw new Error(`no digest ${algorithm}`);
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
  seen += request.length;
  if (seen >= COLLECT_BYTES) {
    seen = 0;
    collect({ type: 'major', execution: 'sync' });
  }
});

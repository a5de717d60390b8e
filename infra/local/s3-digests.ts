/**
 * A PutObject body's digests are computed off the event loop. fauxqs hashes each body it
 * stores (MD5, the ETag) inside its synchronous handler, and the local cloud checks the body's
 * `x-amz-checksum-*` there too (s3-presigned.ts), both on the one thread that serves S3, SQS,
 * SNS and DynamoDB: for the six slices of an 8 MiB dsn PUT, some 20 ms a PUT during which
 * nothing else was served. Here a pooled body (s3-body-pool.ts, whose buffers are
 * SharedArrayBuffers), once read, is hashed by a worker thread while it lands (s3-incoming.ts),
 * and the handler then takes the digests it finds for that very buffer instead of computing
 * them: the same values, with the loop free meanwhile, and concurrent PUTs' bodies hashed side
 * by side with their reading.
 *
 * A body without digests (the threads failed, or it is not pooled, or aws-chunked, which fauxqs
 * decodes into another buffer) is hashed by the handler, as fauxqs does. Node's hashes are
 * synchronous and take no worker of libuv's pool, hence threads of our own; written by hand
 * since no library does this for a buffer already shared.
 */
import crypto, { type BinaryToTextEncoding, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { withBuiltinExport } from './builtin-swap.ts';
import { fauxqsModule } from './fauxqs-module.ts';
import { patchOnce } from './patch-once.ts';

/** What a digest thread is asked: `algorithms` of `length` bytes at `offset` of `memory`. */
export interface DigestRequest {
  id: number;
  memory: SharedArrayBuffer;
  offset: number;
  length: number;
  algorithms: string[];
}
/** And what it answers: digests by algorithm (MD5 in hex, checksums in base64), or an error. */
export type DigestReply =
  | { id: number; digests: Record<string, string> }
  | { id: number; error: string };

/** The checksum headers S3 verifies a body against, and their algorithms. */
const CHECKSUM_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['x-amz-checksum-crc32', 'CRC32'],
  ['x-amz-checksum-sha1', 'SHA1'],
  ['x-amz-checksum-sha256', 'SHA256'],
];

/** Bodies hashed off the loop, and digests the handlers took, since the process started. */
export const digestCounts = { hashed: 0, etagsTaken: 0, checksumsTaken: 0, failed: 0 };

const known = new WeakMap<Uint8Array, Record<string, string>>();

/**
 * Threads that hash shared buffers, taking requests in turn; started on first use, holding the
 * process open only while they have work. A thread that dies fails its requests, and the next
 * request starts another.
 */
export class DigestThreads {
  private readonly threads: Worker[] = [];
  private readonly waiting = new Map<
    number,
    { resolve: (d: Record<string, string>) => void; reject: (e: Error) => void; thread: Worker }
  >();
  /** Jobs in flight, by thread. */
  private readonly busy = new Map<Worker, number>();
  private nextId = 0;
  private turn = 0;
  private readonly count: number;

  constructor(count: number) {
    this.count = count;
  }

  private settle(id: number, thread: Worker): void {
    this.waiting.delete(id);
    const left = (this.busy.get(thread) ?? 1) - 1;
    this.busy.set(thread, left);
    if (left === 0) thread.unref();
  }

  private start(): Worker {
    const thread = new Worker(new URL('./s3-digest-worker.ts', import.meta.url), {
      name: 's3-digests',
    });
    // Held open only while it has work: a PUT waiting for its digests is the loop's work too.
    thread.unref();
    thread.on('message', (reply: DigestReply) => {
      const job = this.waiting.get(reply.id);
      if (!job) return;
      this.settle(reply.id, thread);
      if ('error' in reply) job.reject(new Error(reply.error));
      else job.resolve(reply.digests);
    });
    const lost = (err: Error) => {
      const at = this.threads.indexOf(thread);
      if (at >= 0) this.threads.splice(at, 1);
      for (const [id, job] of this.waiting)
        if (job.thread === thread) {
          this.waiting.delete(id);
          job.reject(err);
        }
      this.busy.delete(thread);
    };
    thread.on('error', lost);
    thread.on('exit', (code) => lost(new Error(`digest thread exited (${code})`)));
    this.threads.push(thread);
    return thread;
  }

  /** Stops every thread; requests in flight fail. */
  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }

  /** `algorithms` (MD5, CRC32, SHA1, SHA256) of `view`, which must be shared memory. */
  digest(view: Uint8Array, algorithms: string[]): Promise<Record<string, string>> {
    const thread =
      this.threads.length < this.count
        ? this.start()
        : (this.threads[this.turn++ % this.threads.length] as Worker);
    const id = this.nextId++;
    const jobs = this.busy.get(thread) ?? 0;
    if (jobs === 0) thread.ref();
    this.busy.set(thread, jobs + 1);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, thread });
      const request: DigestRequest = {
        id,
        memory: view.buffer as SharedArrayBuffer,
        offset: view.byteOffset,
        length: view.byteLength,
        algorithms,
      };
      thread.postMessage(request);
    });
  }
}

/** One thread on two cores (the loop keeps the other), at most four. */
const threads = new DigestThreads(Math.max(1, Math.min(4, availableParallelism() - 1)));

/**
 * Hashes `body`, the whole body of the PutObject `req`, on a digest thread: its MD5, and the
 * checksum its headers name. Resolves once done; never rejects (a body without digests is
 * hashed by its handler).
 */
export async function digestPutBody(req: IncomingMessage, body: Buffer): Promise<void> {
  if (!(body.buffer instanceof SharedArrayBuffer)) return;
  if (String(req.headers['content-encoding'] ?? '').includes('aws-chunked')) return;
  const algorithms = ['MD5'];
  for (const [header, algorithm] of CHECKSUM_HEADERS)
    if (req.headers[header] !== undefined) algorithms.push(algorithm);
  try {
    known.set(body, await threads.digest(body, algorithms));
    digestCounts.hashed++;
  } catch {
    digestCounts.failed++;
  }
}

/** `body`'s digest by `algorithm` (MD5 in hex, a checksum in base64), if a thread computed it. */
export function knownDigest(body: Uint8Array, algorithm: string): string | undefined {
  const digest = known.get(body)?.[algorithm];
  if (digest !== undefined && algorithm !== 'MD5') digestCounts.checksumsTaken++;
  return digest;
}

/**
 * An MD5 hash that, fed exactly `body` in one update, answers `hex` without hashing; fed
 * anything else, it hashes all it was fed, as any hash does.
 */
export function md5Knowing(real: Hash, body: Uint8Array, hex: string): Hash {
  let held = false;
  let mixed = false;
  const release = () => {
    if (held) real.update(body);
    held = false;
    mixed = true;
  };
  const hash: Hash = new Proxy(real, {
    get(target, property) {
      if (property === 'update')
        return (data: crypto.BinaryLike, encoding?: crypto.Encoding) => {
          if (!mixed && !held && data === body) held = true;
          else {
            release();
            if (encoding === undefined) target.update(data);
            else target.update(data as string, encoding);
          }
          return hash;
        };
      if (property === 'digest')
        return (encoding?: BinaryToTextEncoding) => {
          if (held && !mixed) {
            held = false;
            mixed = true;
            digestCounts.etagsTaken++;
            const bytes = Buffer.from(hex, 'hex');
            return encoding === undefined ? bytes : bytes.toString(encoding);
          }
          release();
          return encoding === undefined ? target.digest() : target.digest(encoding);
        };
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return hash;
}

interface StoreProto {
  putObject(...args: unknown[]): unknown;
}

/**
 * fauxqs's `putObject` (whose MD5 is `createHash('md5').update(body).digest('hex')`, imported
 * from `node:crypto`) takes a body's MD5 from its digest thread: for the length of the call, a
 * `createHash('md5')` hash fed that body answers its known digest (see builtin-swap.ts).
 */
export async function takeKnownDigests(): Promise<void> {
  const { S3Store } = (await fauxqsModule('./s3/s3Store.js')) as {
    S3Store: { prototype: StoreProto };
  };
  patchOnce(
    S3Store.prototype,
    'known-md5-digests',
    ['putObject'],
    (original) =>
      function (this: unknown, ...args: unknown[]) {
        const body = args[2] as Uint8Array;
        const md5 = body instanceof Uint8Array ? known.get(body)?.MD5 : undefined;
        if (md5 === undefined) return original.apply(this, args);
        const createHash = crypto.createHash;
        const knowing = ((algorithm: string, options?: crypto.HashOptions) => {
          const hash = createHash(algorithm, options);
          return algorithm.toLowerCase() === 'md5' ? md5Knowing(hash, body, md5) : hash;
        }) as typeof crypto.createHash;
        return withBuiltinExport(crypto, 'createHash', knowing, () => original.apply(this, args));
      },
  );
}

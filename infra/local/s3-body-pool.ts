/**
 * The local cloud's S3 reads a PutObject body into a buffer it reuses, where fauxqs (through
 * fastify's `parseAs: 'buffer'`) gathers the socket's chunks and concatenates them into a new
 * buffer per request. An 8 MiB dsn PUT sends 12 MiB of slices; that concatenation was a third of
 * the bytes the emulators' thread allocates per PUT, and V8 starts a full collection for every
 * few dozen MiB of buffers allocated, whatever their lifetime (see the README, bench:dsn).
 *
 * A buffer goes back to the pool only once the response has been written in full (`finish`):
 * fauxqs's PutObject handler is synchronous and, with file persistence, keeps no reference to the
 * body (it renames the landed file or writes its own, and keeps the metadata), so by then
 * nothing reads it. A response that
 * ends otherwise (the client went away) leaves its buffer to the garbage collector. Multipart
 * parts are not pooled: fauxqs keeps a part's body in memory until the upload completes. Neither
 * are copies or other PUTs with a query (tagging, ACLs), or bodies under `MIN_POOLED`.
 *
 * What is not a pooled PutObject is read as fastify reads it: chunks, the body limit (413), and
 * the Content-Length check (400), with fastify's own errors. fastify exposes no hook for where a
 * body is read into, so fauxqs's one binary parser is swapped for this one as fauxqs adds it.
 */
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { BufferPool } from '../../shared/codec/index.ts';
import { patchOnce } from './patch-once.ts';

/** Smaller bodies cost little to allocate, and are most requests. */
export const MIN_POOLED = 64 * 1024;
const OBJECT_PUT_QUERY = /^(x-id|x-amz-.*)$/i;

/**
 * PutObject bodies' buffers, used by every emulator of the process; SharedArrayBuffers, so a
 * thread hashes a body without a copy (s3-digests.ts). V8 does not count shared memory towards
 * its next collection as it counts a Buffer's, so a buffer the pool lets go (past its idle cap)
 * is freed at the next collection that comes for other reasons (on a busy emulator, every few
 * PUTs), not sooner; the digest thread collects on its own (s3-digest-worker.ts).
 */
export const putBodyPool = new BufferPool(256 * 1024, undefined, { shared: true });

interface FastifyRequestLike {
  raw: IncomingMessage;
  headers: Record<string, string | string[] | undefined>;
  routeOptions: { bodyLimit?: number };
}
interface ReplyLike {
  raw: { closed: boolean; once(event: 'finish' | 'close', f: () => void): unknown };
}
/** Puts a read PutObject body where its handler will take it; see s3-incoming.ts. */
export type Landing = (req: IncomingMessage, body: Buffer) => Promise<(() => void) | undefined>;
type Done = (error: Error | null, body?: Buffer) => void;
type FastifyError = new () => Error;

/** The body length of a PutObject this pool serves, or undefined. */
export function pooledLength(
  method: string | undefined,
  url: string | undefined,
  headers: Record<string, string | string[] | undefined>,
): number | undefined {
  if (method !== 'PUT' || headers['x-amz-copy-source']) return;
  // The AWS SDKs name the operation in the query (`x-id=PutObject`), and a presigned URL carries
  // its signature there (`X-Amz-*`); any other parameter makes it another operation (a part,
  // tagging, an ACL), read as before.
  const query = (url ?? '').split('?')[1];
  if (query && [...new URLSearchParams(query).keys()].some((name) => !OBJECT_PUT_QUERY.test(name)))
    return;
  const length = Number(headers['content-length']);
  return Number.isSafeInteger(length) && length >= MIN_POOLED ? length : undefined;
}

/**
 * Reads `payload` into one buffer: a pooled one when the request is a PutObject of known size
 * (given back once `reply` has finished), else a new one, as fastify's buffer parser does.
 */
function readBody(
  pool: BufferPool,
  errors: { tooLarge: FastifyError; badLength: FastifyError },
  serverLimit: number,
  landing: Landing | undefined,
  request: FastifyRequestLike,
  reply: ReplyLike | undefined,
  payload: Readable & { receivedEncodedLength?: number },
  done: Done,
): void {
  const limit = request.routeOptions.bodyLimit ?? serverLimit;
  const declared = Number(request.headers['content-length']);
  if (declared > limit) {
    done(new errors.tooLarge());
    return;
  }
  const pooled = reply
    ? pooledLength(request.raw.method, request.raw.url, request.headers)
    : undefined;
  const target = pooled === undefined ? undefined : pool.take(pooled);
  const chunks: Buffer[] = [];
  let received = 0;
  const stop = () => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onEnd);
  };
  const fail = (error: Error) => {
    stop();
    // An unread request body leaves the connection unusable; fastify closes it on error.
    payload.resume();
    if (target) pool.give(target);
    done(error);
  };
  function onData(data: Buffer | string) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (received + chunk.length > limit) return fail(new errors.tooLarge());
    if (target) {
      if (received + chunk.length > target.length) return fail(new errors.badLength());
      chunk.copy(target, received);
    } else chunks.push(chunk);
    received += chunk.length;
  }
  function onEnd(err?: Error & { statusCode?: number }) {
    stop();
    if (err) {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      if (target) pool.give(target);
      return done(err);
    }
    if (!Number.isNaN(declared) && (payload.receivedEncodedLength || received) !== declared) {
      if (target) pool.give(target);
      return done(new errors.badLength());
    }
    if (!target || !reply) return done(null, Buffer.concat(chunks, received));
    const res = reply.raw;
    res.once('finish', () => pool.give(target));
    const body = target.subarray(0, received);
    if (!landing) return done(null, body);
    void landing(request.raw, body).then((removeUntaken) => {
      if (removeUntaken) {
        if (res.closed) removeUntaken();
        else res.once('close', removeUntaken);
      }
      done(null, body);
    });
  }
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onEnd);
  payload.resume();
}

interface ParserTable {
  add(contentType: unknown, opts: { parseAs?: string; bodyLimit?: number }, fn: unknown): unknown;
  run(contentType: string, handler: unknown, request: unknown, reply: unknown): unknown;
}

const replies = new WeakMap<object, ReplyLike>();

/** Swaps fastify's buffer parser, as fauxqs adds it for `*`, for `readBody` over `pool`. */
export async function poolPutBodies(
  pool: BufferPool = putBodyPool,
  landing?: Landing,
): Promise<void> {
  const require = createRequire(import.meta.resolve('fauxqs'));
  const ContentTypeParser = require('fastify/lib/content-type-parser.js') as {
    prototype: ParserTable;
  };
  const codes = require('fastify/lib/errors.js') as Record<string, FastifyError>;
  const errors = {
    tooLarge: codes.FST_ERR_CTP_BODY_TOO_LARGE as FastifyError,
    badLength: codes.FST_ERR_CTP_INVALID_CONTENT_LENGTH as FastifyError,
  };
  patchOnce(
    ContentTypeParser.prototype,
    'pooled-put-bodies',
    ['add'],
    (add) =>
      function (this: ParserTable, contentType, opts, fn) {
        if (contentType !== '*' || opts.parseAs !== 'buffer')
          return add.call(this, contentType, opts, fn);
        const serverLimit = opts.bodyLimit ?? Number.POSITIVE_INFINITY;
        const parse = fn as (request: unknown, body: Buffer, done: Done) => void;
        return add.call(
          this,
          contentType,
          { bodyLimit: opts.bodyLimit },
          (request: FastifyRequestLike, payload: Readable | undefined, done: Done) =>
            readBody(
              pool,
              errors,
              serverLimit,
              landing,
              request,
              replies.get(request),
              payload ?? request.raw,
              (e, body) => (e ? done(e) : parse(request, body as Buffer, done)),
            ),
        );
      },
  );
  // A parser sees the request and its payload, not the reply, whose `finish` gives a buffer back.
  patchOnce(
    ContentTypeParser.prototype,
    'put-replies-known',
    ['run'],
    (run) =>
      function (this: ParserTable, contentType, handler, request, reply) {
        // Only a PUT's body can be pooled; SQS and SNS calls (POSTs) are most requests.
        if ((request as FastifyRequestLike | undefined)?.raw?.method === 'PUT' && reply)
          replies.set(request as object, reply as ReplyLike);
        return run.call(this, contentType, handler, request, reply);
      },
  );
}

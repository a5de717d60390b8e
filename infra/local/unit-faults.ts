/**
 * Fault injection for storage units, done where a real unit fails: in its bucket. The local
 * cloud wraps the S3 emulator's request handling, so a unit's bucket can refuse writes, refuse
 * reads, answer slowly, or return corrupted bytes, while every function runs unchanged and pays
 * nothing when no fault is set. Only the local cloud has this; on AWS the admin routes do not
 * exist. The same wrapper counts S3 requests per bucket, so tests can prove which operations a
 * job did (or did not) repeat.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { UnitFault } from '../../shared/store/fault.ts';
import { interpose } from './interpose.ts';
import { s3Target, sendS3Error } from './s3-http.ts';

const WRITES = new Set(['PUT', 'POST', 'DELETE']);
const READS = new Set(['GET', 'HEAD']);

/** The S3 operations counted per bucket. */
export const COUNTED_OPERATIONS = ['put', 'get', 'head', 'delete', 'list'] as const;
export type CountedOperation = (typeof COUNTED_OPERATIONS)[number];
export type RequestCounts = Record<CountedOperation, number>;

/** Bucket-level GET sub-resources that are not listings (GetBucketLocation and the like). */
const LISTING_QUERY = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'marker',
  'max-keys',
  'encoding-type',
  'continuation-token',
  'start-after',
  'fetch-owner',
]);

/**
 * Which counted operation a path-style S3 request is: object PUT (PutObject, UploadPart,
 * CopyObject), GET and HEAD; DeleteObject and DeleteObjects (a POST with `?delete`, one request
 * however many keys); ListObjects (a GET on the bucket). Bucket-level calls such as HeadBucket
 * and multipart bookkeeping are not counted.
 */
function operationOf(req: IncomingMessage, hasKey: boolean): CountedOperation | undefined {
  const search = (req.url ?? '').split('?', 2)[1] ?? '';
  const query = new URLSearchParams(search);
  const method = req.method ?? 'GET';
  if (hasKey) {
    if (method === 'PUT') return 'put';
    if (method === 'GET') return 'get';
    if (method === 'HEAD') return 'head';
    if (method === 'DELETE' && !query.has('uploadId')) return 'delete';
    return undefined;
  }
  if (method === 'POST' && query.has('delete')) return 'delete';
  if (method === 'GET' && [...query.keys()].every((k) => LISTING_QUERY.has(k))) return 'list';
  return undefined;
}

function refuse(res: ServerResponse, fault: UnitFault): void {
  sendS3Error(
    res,
    503,
    'ServiceUnavailable',
    `unit ${fault.unit} is down (${fault.mode}, injected)`,
  );
}

/** Flips one byte of a GET response body on its way out. */
function corrupting(res: ServerResponse): void {
  let flipped = false;
  const flip = (chunk: unknown): unknown => {
    if (flipped || !(chunk instanceof Uint8Array) || chunk.length === 0) return chunk;
    flipped = true;
    const copy = Buffer.from(chunk);
    copy[copy.length - 1] = (copy[copy.length - 1] as number) ^ 0xff;
    return copy;
  };
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  res.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(flip(chunk), ...rest)) as ServerResponse['write'];
  res.end = ((chunk: unknown, ...rest: unknown[]) =>
    typeof chunk === 'function' || chunk === undefined
      ? end(chunk, ...rest)
      : end(flip(chunk), ...rest)) as ServerResponse['end'];
}

/**
 * Requests a `slow` fault holds back before passing them on, dropped when the cloud stops (as a
 * crash would): they never reach the emulator. Shared by the S3 and the work-table faults.
 */
export class HeldRequests {
  private readonly held = new Map<NodeJS.Timeout, ServerResponse>();

  /** Calls `pass` after `delayMs`, unless dropped before. */
  hold(res: ServerResponse, delayMs: number, pass: () => void): void {
    const timer = setTimeout(() => {
      this.held.delete(timer);
      pass();
    }, delayMs);
    this.held.set(timer, res);
  }

  /** Drops every request still held: its connection is destroyed, unanswered. */
  drop(): void {
    for (const [timer, res] of this.held) {
      clearTimeout(timer);
      res.destroy();
    }
    this.held.clear();
  }
}

export class UnitFaults {
  private readonly byBucket = new Map<string, UnitFault>();
  private readonly held = new HeldRequests();
  private readonly bucketOfUnit: (unit: number) => string | undefined;
  /** By bucket name, every bucket: units are known only once the stack is provisioned. */
  private counts = new Map<string, RequestCounts>();
  private keyPuts = new Map<string, Map<string, number>>();

  constructor(bucketOfUnit: (unit: number) => string | undefined) {
    this.bucketOfUnit = bucketOfUnit;
  }

  list(): UnitFault[] {
    return [...this.byBucket.values()].sort((a, b) => a.unit - b.unit);
  }

  /** @returns false when the pool has no such unit. */
  set(fault: UnitFault): boolean {
    const bucket = this.bucketOfUnit(fault.unit);
    if (!bucket) return false;
    this.byBucket.set(bucket, fault);
    return true;
  }

  /**
   * A fault on any bucket, a unit's or not (a plain bucket a replication job copies to), for
   * in-process tests; `unit` in the fault is only a label then. Undefined `fault` clears it.
   */
  setBucket(bucket: string, fault: UnitFault | undefined): void {
    if (fault) this.byBucket.set(bucket, fault);
    else this.byBucket.delete(bucket);
  }

  clear(unit: number): boolean {
    const bucket = this.bucketOfUnit(unit);
    if (!bucket) return false;
    this.byBucket.delete(bucket);
    return true;
  }

  /** The pool's units with their buckets, in unit order. */
  units(): Array<{ unit: number; bucket: string }> {
    const units: Array<{ unit: number; bucket: string }> = [];
    for (let unit = 0; unit <= 255; unit++) {
      const bucket = this.bucketOfUnit(unit);
      if (bucket) units.push({ unit, bucket });
    }
    return units;
  }

  /** S3 requests seen per unit bucket since start or the last reset, faulted ones included. */
  requestCounts(): Array<{ unit: number; bucket: string } & RequestCounts> {
    return this.units().map(({ unit, bucket }) => ({
      unit,
      bucket,
      ...(this.counts.get(bucket) ?? { put: 0, get: 0, head: 0, delete: 0, list: 0 }),
    }));
  }

  /** S3 requests seen on any bucket (a unit's or not) since start or the last reset. */
  bucketRequestCounts(bucket: string): RequestCounts {
    return { ...(this.counts.get(bucket) ?? { put: 0, get: 0, head: 0, delete: 0, list: 0 }) };
  }

  /**
   * Successful object PUTs per key of `bucket` (an UploadPart counts under `key#part`), for
   * tests that prove no object was written twice.
   */
  putsByKey(bucket: string): Map<string, number> {
    return new Map(this.keyPuts.get(bucket) ?? []);
  }

  resetRequestCounts(): void {
    this.keyPuts = new Map();
    this.counts = new Map();
  }

  /**
   * Counts a request to the target's bucket. A PUT counts once it has stored something (2xx): one refused
   * by a condition (a redelivered unit message's create finding its slice) wrote nothing.
   */
  private count(
    target: { bucket: string; key: string },
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    const op = operationOf(req, target.key !== '');
    if (!op) return;
    let counts = this.counts.get(target.bucket);
    if (!counts) {
      counts = { put: 0, get: 0, head: 0, delete: 0, list: 0 };
      this.counts.set(target.bucket, counts);
    }
    const tally = counts;
    if (op !== 'put') tally[op]++;
    else {
      const part = new URLSearchParams((req.url ?? '').split('?', 2)[1] ?? '').get('partNumber');
      const name = part ? `${target.key}#${part}` : target.key;
      res.once('finish', () => {
        if (res.statusCode >= 300) return;
        tally.put++;
        let keys = this.keyPuts.get(target.bucket);
        if (!keys) {
          keys = new Map();
          this.keyPuts.set(target.bucket, keys);
        }
        keys.set(name, (keys.get(name) ?? 0) + 1);
      });
    }
  }

  /** Drops every request a `slow` unit still holds: they never reach the bucket. */
  dropHeld(): void {
    this.held.drop();
  }

  /** Puts the fault check in front of the emulator's own request handling. */
  install(server: Server): void {
    interpose(server, (req, res, pass) => {
      const target = s3Target(req);
      const bucket = target?.bucket;
      if (target) this.count(target, req, res);
      const fault = bucket ? this.byBucket.get(bucket) : undefined;
      if (!fault) return pass(req, res);
      const method = req.method ?? 'GET';
      if (
        (fault.mode === 'write-fail' && WRITES.has(method)) ||
        (fault.mode === 'read-fail' && READS.has(method))
      ) {
        req.resume();
        return refuse(res, fault);
      }
      if (fault.mode === 'slow')
        return this.held.hold(res, fault.delayMs ?? 0, () => pass(req, res));
      if (fault.mode === 'corrupt' && method === 'GET') corrupting(res);
      pass(req, res);
    });
  }
}

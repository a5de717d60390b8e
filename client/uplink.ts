/**
 * Client-side dispersal ("uplink"): the client is the first DS processing unit. It opens a
 * revision, encodes segments with the same codec as the server (shared/codec, WASM), PUTs each
 * slice straight into its unit's bucket through a presigned URL (its CRC-32 signed in, so S3
 * refuses damaged bytes), and asks the API to multicast each batch's claim-check message; units
 * verify, the committer commits at T. No byte passes through the API or a staging bucket.
 *
 * Memory stays bounded: segments are encoded while earlier batches upload, and at most
 * `batchesInFlight` batches of `batch` segments are held at once. A slice refused for its
 * checksum is sent again; a URL that expired is asked again; a slice its unit keeps refusing
 * is announced as missing, so the committer decides as it does for the server's writer. When no
 * slice PUT gets any answer, the units' buckets are out of this client's reach: nothing is
 * announced, the revision is left pending for the janitor, and UnitsUnreachableError says so
 * (the caller may take the API's path instead).
 * The CLI, the SDK (`@dsn/client/uplink`) and the web console use it: in a browser the slices go
 * by fetch (`#slice-request`) and the codec hashes with a WebAssembly SHA-256 (`#codec/sha256`).
 */

import {
  builtSliceS3Crc32,
  type Codec,
  codecFor,
  createSha256,
  encodeSliceInPlace,
  type Sha256,
  shardSize,
  sliceHeaderLength,
  sliceNamesOf,
} from '../shared/codec/index.ts';
import { type ApiCalls, DsnApiError, vaultPath } from './dsn-client.ts';
import { s3ErrorOf, sliceRequest, UnitsUnreachableError } from './slice-http.ts';

/** A dispersal as the API opened it. */
interface Opened {
  revision: string;
  objectId: string;
  vault: string;
  key: string;
  width: number;
  readThreshold: number;
  segmentSize: number;
}

interface SliceUrl {
  segment: number;
  pillar: number;
  url: string;
}

/** One encoded segment on its way: its slices, and what each became. */
interface Flight {
  segment: number;
  /** The segment's bytes of the object. */
  length: number;
  /** Each slice: a view of one of `buffers`, the encoder's, given back once it is placed. */
  slices: Uint8Array[];
  buffers: Uint8Array[];
  sizes: number[];
  crc32: string[];
}

/** Sends one slice: a PUT of `body` to `url` with the signed headers. Tests wrap it. */
export type SlicePut = (
  url: string,
  body: Uint8Array,
  headers: Record<string, string>,
  signal?: AbortSignal,
) => Promise<Response>;

export interface UplinkOptions {
  /** Segments per URL request and per claim-check multicast call. */
  batch?: number;
  /** Batches uploading at once while the next one is encoded (memory: this + 1 batches). */
  batchesInFlight?: number;
  /** Slice PUTs at once, over all batches. */
  parallelPuts?: number;
  /** Tries of one slice before it is announced missing. */
  attempts?: number;
  /** How long URLs work; the API's default when absent. */
  urlSeconds?: number;
  /** Content type, disposition and user metadata, as a staged upload takes them. */
  attributes?: { contentType?: string; contentDisposition?: string; meta?: Record<string, string> };
  putSlice?: SlicePut;
  /**
   * Bytes of the object placed so far: each slice in its bucket counts for 1/width of its
   * segment, and one given up on (announced missing) never counts, so the last figure is the
   * object's size only when every slice was placed.
   */
  onProgress?: (bytes: number) => void;
  /** Once the revision is open (tests kill the client mid-upload). */
  onOpen?: (revision: string) => void;
  /**
   * Stops the dispersal: slice PUTs in flight are cut off, nothing more is announced, and the
   * revision is never completed, so it stays pending until the janitor removes it and its
   * slices. The call rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

export interface UplinkResult {
  revision: string;
  size: number;
  sha256: string;
  segments: number;
  /** Slice PUTs sent again (checksum refused, URL expired, unit busy). */
  resent: number;
  /** 201 committed, or 202 pending (the caller polls the revision). */
  state: 'committed' | 'pending';
}

/** Waits `ms`, or rejects with the signal's reason as soon as it is aborted. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });

/** A slice PUT with its signed headers (client/slice-http.ts), answered as a Response. */
const defaultPut: SlicePut = async (url, body, headers, signal) => {
  const res = await sliceRequest(url, {
    method: 'PUT',
    headers,
    body,
    ...(signal ? { signal } : {}),
  });
  return new Response(res.body as Uint8Array<ArrayBuffer>, { status: res.status });
};

/**
 * Cuts `source` into segments in `buffer`, reused: yields each segment's length once the buffer
 * holds it (full ones, then the last, shorter; an empty source gives one empty segment). The
 * caller encodes it before asking for the next.
 */
export async function* cutInto(source: AsyncIterable<Uint8Array>, buffer: Uint8Array) {
  let filled = 0;
  let cut = 0;
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(buffer.length - filled, chunk.length - at);
      buffer.set(chunk.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === buffer.length) {
        yield filled;
        cut++;
        filled = 0;
      }
    }
  }
  if (filled > 0 || cut === 0) yield filled;
}

/**
 * Encodes segments into a fixed set of slice buffers, so the client's memory is what it holds
 * in flight and no more: a slice is written in place (payload copied or computed into its
 * buffer, then its header), and its buffer comes back with `release` once placed. Encoding with
 * fresh buffers left the freeing to the collector, which lagged the uploads on a loaded machine.
 * The format is the server's own (`encodeSliceInPlace` beside `encodeSlice` in shared/codec).
 */
export class SegmentEncoder {
  /** The segment being cut, reused for each. */
  readonly segment: Uint8Array;
  private readonly codec: Codec;
  private readonly name: ReturnType<typeof sliceNamesOf>;
  private readonly headerLength: number;
  private readonly width: number;
  private readonly free: Uint8Array[][] = [];
  private readonly waiting: Array<() => void> = [];
  private made = 0;
  private readonly slots: number;
  private readonly hash: Sha256;
  private size = 0;
  private index = 0;

  constructor(
    of: { vault: string; objectId: string; revision: string; width: number; segmentSize: number },
    codec: Codec,
    slots: number,
    /** The object's running hash (`await createSha256()`). */
    hash: Sha256,
  ) {
    this.hash = hash;
    this.segment = Buffer.allocUnsafe(of.segmentSize);
    this.codec = codec;
    this.name = sliceNamesOf(of);
    // Slice names have fixed-width segment and pillar numbers: every header has this length.
    this.headerLength = sliceHeaderLength(this.name(0, 0));
    this.width = of.width;
    this.slots = slots;
  }

  /** A free set of slice buffers, once one is given back if all are in use. */
  private async take(): Promise<Uint8Array[]> {
    const free = this.free.pop();
    if (free) return free;
    if (this.made < this.slots) {
      this.made++;
      const bytes = this.headerLength + shardSize(this.segment.length, this.codec.dataShards);
      return Array.from({ length: this.width }, () => Buffer.allocUnsafe(bytes));
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.take();
  }

  /** Gives back the buffers of one segment's slices. */
  release(slices: Uint8Array[]): void {
    const whole = slices.map(
      (s) => new Uint8Array(s.buffer, s.byteOffset, s.buffer.byteLength - s.byteOffset),
    );
    this.free.push(whole);
    this.waiting.shift()?.();
  }

  /** Encodes the `length` bytes at the start of `segment` as the next segment's slices. */
  async encode(
    length: number,
  ): Promise<{ index: number; slices: Uint8Array[]; buffers: Uint8Array[] }> {
    const buffers = await this.take();
    const k = this.codec.dataShards;
    const shard = shardSize(length, k);
    const slices = buffers.map((b) => b.subarray(0, this.headerLength + shard));
    const payloads = slices.map((s) => s.subarray(this.headerLength));
    for (let i = 0; i < k; i++) {
      const from = Math.min(i * shard, length);
      const to = Math.min(from + shard, length);
      const payload = payloads[i] as Uint8Array;
      payload.set(this.segment.subarray(from, to));
      // Only the last data shard of a short segment runs past its end: zero padding.
      payload.fill(0, to - from);
    }
    this.codec.encode(payloads);
    const index = this.index++;
    for (const [pillar, slice] of slices.entries())
      encodeSliceInPlace(
        {
          name: this.name(index, pillar),
          dataShards: k,
          parityShards: this.codec.parityShards,
          segmentLength: length,
        },
        slice,
      );
    this.hash.update(this.segment.subarray(0, length));
    this.size += length;
    return { index, slices, buffers };
  }

  /** What was encoded: as the server's writer records it. */
  summary(): { size: number; sha256: string; segments: number } {
    return { size: this.size, sha256: this.hash.hex(), segments: this.index };
  }
}

/** At most `n` calls of the returned function run at once. */
function limiter(n: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** API calls tried at most this often when the gateway or a function is busy. */
const CALL_ATTEMPTS = 4;

/**
 * Every dispersal call is idempotent, so one the gateway gave up on (its 30 s, a busy
 * function: 5xx without a domain code, or 429) is made again; a domain answer is final.
 */
async function retried<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await call();
    } catch (err) {
      const { status, code } = err as { status?: unknown; code?: unknown };
      const busy = typeof status === 'number' && (status === 429 || (status >= 500 && code === ''));
      if (!busy || attempt >= CALL_ATTEMPTS) throw err;
      await sleep(200 * 2 ** attempt, signal);
    }
  }
}

/**
 * Writes `source` to vault/key by client-side dispersal and completes it.
 * @throws the client's API error (503 WriteThresholdNotMet when fewer than T units took a segment)
 */
export async function uplinkPut(
  client: ApiCalls,
  source: AsyncIterable<Uint8Array>,
  vault: string,
  key: string,
  opts: UplinkOptions = {},
): Promise<UplinkResult> {
  const batchSize = opts.batch ?? 2;
  const batchesInFlight = opts.batchesInFlight ?? 2;
  const attempts = opts.attempts ?? 4;
  const put = opts.putSlice ?? defaultPut;
  const { signal } = opts;
  signal?.throwIfAborted();
  /** An API call of this dispersal, made again while the API is busy, until the signal stops it. */
  const retry = <T>(call: () => Promise<T>) => retried(call, signal);
  const base = `${vaultPath(vault)}/dispersals`;
  const { body: opened } = await retry(() =>
    client.postJson<Opened>(base, { key, ...opts.attributes }),
  );
  opts.onOpen?.(opened.revision);
  const at = `${base}/${opened.revision}`;
  const k = opened.readThreshold;
  const codec = codecFor(k, opened.width - k);
  const slots = limiter(opts.parallelPuts ?? 12);
  let placed = 0;
  let resent = 0;
  /** Slice PUTs that got an HTTP answer of any kind, and the last one that got none. */
  let answered = 0;
  let unanswered: unknown;

  const describe = (batch: Flight[]) =>
    batch.map((f) => ({
      segment: f.segment,
      slices: f.sizes.map((size, pillar) => ({ pillar, crc32: f.crc32[pillar], size })),
    }));
  const urlsFor = async (batch: Flight[]) => {
    const { body: answer } = await retry(() =>
      client.postJson<{ urls: SliceUrl[] }>(`${at}/urls`, {
        segments: describe(batch),
        ...(opts.urlSeconds ? { expiresInSeconds: opts.urlSeconds } : {}),
      }),
    );
    return new Map(answer.urls.map((u) => [`${u.segment}/${u.pillar}`, u.url]));
  };

  /** Places one slice; the reason it could not, if it could not. */
  const place = async (
    batch: Flight[],
    urls: { current: Map<string, string> },
    f: Flight,
    pillar: number,
  ): Promise<string | undefined> => {
    const body = f.slices[pillar] as Uint8Array;
    const headers = { 'x-amz-checksum-crc32': f.crc32[pillar] as string };
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      signal?.throwIfAborted();
      if (attempt > 1) resent++;
      const url = urls.current.get(`${f.segment}/${pillar}`) as string;
      let res: Response;
      try {
        res = await slots(() => {
          signal?.throwIfAborted();
          return put(url, body, headers, signal);
        });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        last = `${(err as Error).name}: ${(err as Error).message}`;
        unanswered = err;
        await sleep(25 * 2 ** attempt, signal);
        continue;
      }
      answered++;
      const answer = new Uint8Array(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
      if (res.ok) return undefined;
      const e = s3ErrorOf(answer);
      const code = e.code || String(res.status);
      last = `${res.status} ${code}`;
      // Damaged on the way: S3 kept nothing, send the same bytes again.
      if (code === 'BadDigest') continue;
      // The window closed: ask for this batch's URLs again.
      if (res.status === 403 && /expired/i.test(e.message)) {
        urls.current = await urlsFor(batch);
        continue;
      }
      if (res.status >= 500 || res.status === 429) await sleep(25 * 2 ** attempt, signal);
      else break;
    }
    return `the client could not place it: ${last}`;
  };

  const sendBatch = async (batch: Flight[]) => {
    signal?.throwIfAborted();
    const urls = { current: await urlsFor(batch) };
    const missing = await Promise.all(
      batch.map((f) =>
        Promise.all(
          f.sizes.map(async (_size, pillar) => {
            const why = await place(batch, urls, f, pillar);
            if (why === undefined) {
              placed += f.length / opened.width;
              opts.onProgress?.(Math.round(placed));
            }
            return why;
          }),
        ),
      ),
    );
    if (answered === 0) throw new UnitsUnreachableError(unanswered);
    const segments = describe(batch).map((s, i) => ({
      ...s,
      slices: s.slices.map((slice, pillar) => {
        const why = missing[i]?.[pillar];
        return why === undefined ? slice : { ...slice, missing: why };
      }),
    }));
    signal?.throwIfAborted();
    await retry(() => client.postJson(`${at}/segments`, { segments }));
  };

  const encoder = new SegmentEncoder(
    opened,
    codec,
    (batchesInFlight + 1) * batchSize,
    await createSha256(),
  );
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const launch = (batch: Flight[]) => {
    const p = sendBatch(batch)
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => {
        // The slices are placed (or given up on): their buffers take the next segments.
        for (const f of batch) encoder.release(f.buffers);
        inFlight.delete(p);
      });
    inFlight.add(p);
  };
  let batch: Flight[] = [];
  for await (const length of cutInto(source, encoder.segment)) {
    if (failure || signal?.aborted) break;
    const { index, slices, buffers } = await encoder.encode(length);
    batch.push({
      segment: index,
      length,
      slices,
      buffers,
      sizes: slices.map((s) => s.length),
      crc32: slices.map((s) => builtSliceS3Crc32(s)),
    });
    if (batch.length >= batchSize) {
      launch(batch);
      batch = [];
      while (inFlight.size >= batchesInFlight) await Promise.race(inFlight);
    }
  }
  if (batch.length > 0 && !failure && !signal?.aborted) launch(batch);
  await Promise.all(inFlight);
  signal?.throwIfAborted();
  if (failure) throw failure;
  const summary = encoder.summary();
  const res = await retry(() =>
    client.postJson<{ revision: string; size?: number; sha256?: string }>(
      `${at}/complete`,
      summary,
    ),
  );
  const answer = res.body;
  if (res.status === 201 && answer.sha256 !== summary.sha256)
    throw new DsnApiError(500, 'Sha256Mismatch', `committed sha256 ${answer.sha256} differs`);
  return {
    revision: opened.revision,
    size: summary.size,
    sha256: summary.sha256,
    segments: summary.segments,
    resent,
    state: res.status === 201 ? 'committed' : 'pending',
  };
}

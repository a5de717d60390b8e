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
 * announced, the revision is cancelled, and UnitsUnreachableError says so (the caller may take
 * the API's path instead). Any failure before the dispersal completes cancels it likewise.
 * The CLI, the SDK (`@dsn/client/uplink`) and the web console use it: in a browser the slices go
 * by fetch (`#slice-request`) and the codec hashes with a WebAssembly SHA-256 (`#codec/sha256`).
 */

import { codecFor, createSha256 } from '../shared/codec/index.ts';
import { limiter, retried, sleep } from './call-pacing.ts';
import {
  cancelDispersal,
  openWithToken,
  ResumeHoldError,
  ResumeMismatchError,
  resumed,
} from './dispersal-state.ts';
import { type ApiCalls, DsnApiError, type JsonCalls, vaultPath } from './dsn-client.ts';
import { crcsOf, ResumeCheck } from './resume-check.ts';
import { cutInto, SegmentEncoder } from './segment-encoder.ts';
import { s3ErrorOf, sliceRequest, UnitsUnreachableError } from './slice-http.ts';

export {
  cancelDispersal,
  type PendingDispersal,
  pendingDispersals,
  ResumeHoldError,
  ResumeMismatchError,
} from './dispersal-state.ts';

interface SliceUrl {
  segment: number;
  pillar: number;
  url: string;
  /** The headers its PUT sends, as signed: the CRC-32, and `if-none-match: *` (create-only). */
  headers: Record<string, string>;
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
   * Resumes the dispersal of this revision, one a client opened for the same key and stopped
   * (killed, cut off) before the pending timeout since its last call: the same source is read
   * and encoded again, and only the segments not done yet are placed and announced. Its
   * attributes are those it was opened with. A source whose bytes differ from those placed
   * fails with ResumeMismatchError, and the dispersal stays pending.
   */
  resume?: string;
  /**
   * Reads the source at `offset` into `into` (as much as fits, fewer at its end) and says how
   * many bytes it read: a file's positional read, by which a resume checks its done segments
   * before anything is placed; without it, they are checked as the source streams by
   * (client/resume-check.ts).
   */
  readAt?: (offset: number, into: Uint8Array) => Promise<number>;
  /** Without `readAt`, the most a resume holds back (ResumeHoldError past it); 256 MiB by default. */
  resumeHoldBytes?: number;
  /**
   * Stops the dispersal: slice PUTs in flight are cut off, nothing more is announced, the
   * revision is never completed, and it is cancelled (see `cancelDispersal`), so nothing of it
   * commits and the janitor removes its slices. The call rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /**
   * An abort by `signal`, or a failure before the dispersal completes, leaves it pending instead
   * of cancelling it, to be resumed (`resume`) before its pending timeout: what a resume wants,
   * whose user chose to keep that revision.
   */
  keepPending?: boolean;
}

export interface UplinkResult {
  revision: string;
  size: number;
  sha256: string;
  segments: number;
  /** Slice PUTs sent again (checksum refused, URL expired, unit busy). */
  resent: number;
  /** Segments a resumed dispersal found done, and did not place again. */
  skipped: number;
  /** 201 committed, or 202 pending (the caller polls the revision). */
  state: 'committed' | 'pending';
}

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
 * Writes `source` to vault/key by client-side dispersal and completes it.
 * @throws the client's API error (503 WriteThresholdNotMet when fewer than T units took a segment)
 */
export async function uplinkPut(
  client: ApiCalls & JsonCalls,
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
  const { opened, done } = opts.resume
    ? await resumed(client, vault, key, opts.resume, retry)
    : {
        opened: await openWithToken(client, vault, key, opts.attributes, retry),
        done: new Map<number, string[]>(),
      };
  opts.onOpen?.(opened.revision);
  const at = `${base}/${opened.revision}`;
  const k = opened.readThreshold;
  const codec = codecFor(k, opened.width - k);
  const slots = limiter(opts.parallelPuts ?? 12);
  let placed = 0;
  let resent = 0;
  let skipped = 0;
  /** The first failure of any batch, or of the source: nothing more is placed or announced. */
  let failure: unknown;
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
    return new Map(answer.urls.map((u) => [`${u.segment}/${u.pillar}`, u]));
  };

  /** Places one slice; the reason it could not, if it could not. */
  const place = async (
    batch: Flight[],
    urls: { current: Map<string, SliceUrl> },
    f: Flight,
    pillar: number,
  ): Promise<string | undefined> => {
    const body = f.slices[pillar] as Uint8Array;
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      signal?.throwIfAborted();
      if (attempt > 1) resent++;
      const { url, headers } = urls.current.get(`${f.segment}/${pillar}`) as SliceUrl;
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
      // The URL creates its key once, and the key holds a slice: this one's, placed by a PUT
      // whose answer was lost or by the run a resume follows. Its unit checks the CRC-32 and
      // size it finds against the announced ones, so other bytes there fail that pillar.
      if (code === 'PreconditionFailed') return undefined;
      // Another PUT of the key is under way (S3 asks for a retry, which then finds it).
      if (code === 'ConditionalRequestConflict') {
        await sleep(25 * 2 ** attempt, signal);
        continue;
      }
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
    // Once the dispersal has failed, nothing more of it is announced.
    if (failure !== undefined) return;
    await retry(() => client.postJson(`${at}/segments`, { segments }));
  };

  let summary: ReturnType<SegmentEncoder['summary']>;
  try {
    const encoder = new SegmentEncoder(
      opened,
      codec,
      (batchesInFlight + 1) * batchSize,
      await createSha256(),
    );
    const inFlight = new Set<Promise<void>>();
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
    const check = new ResumeCheck(opened.revision, done, !opts.readAt, opts.resumeHoldBytes);
    if (opts.readAt) await check.checkAt(encoder, opened.segmentSize, opts.readAt);
    let batch: Flight[] = [];
    const queue = async (segment: number, length: number, encoded: Encoded) => {
      batch.push(flightOf(segment, length, encoded));
      if (batch.length >= batchSize) {
        launch(batch);
        batch = [];
        while (inFlight.size >= batchesInFlight) await Promise.race(inFlight);
      }
    };
    try {
      for await (const length of cutInto(source, encoder.segment)) {
        if (failure || signal?.aborted) break;
        if (check.holds(encoder.next)) {
          check.hold(encoder, length);
          continue;
        }
        const encoded = await encoder.encode(length);
        const { index } = encoded;
        // Done before the resume: encoded again for the object's digest and count, and to tell
        // that these are the bytes it placed.
        if (!check.wasDone(index, crcsOf(encoded.slices))) {
          await queue(index, length, encoded);
          continue;
        }
        encoder.release(encoded.buffers);
        skipped++;
        placed += length;
        opts.onProgress?.(Math.round(placed));
        // Every done segment checked: the held ones go, encoded from their bytes. The cutter
        // has handed its buffer over, so it is free until the next segment.
        for (const h of check.release(index)) {
          if (failure || signal?.aborted) break;
          encoder.segment.set(h.bytes);
          await queue(h.segment, h.bytes.length, await encoder.encodeAs(h.segment, h.bytes.length));
        }
      }
      if (!signal?.aborted) check.ended(encoder.next);
    } catch (err) {
      // A resume from other bytes, or one that would hold too much: nothing more is placed.
      if (!(err instanceof ResumeMismatchError || err instanceof ResumeHoldError)) throw err;
      failure ??= err;
    }
    if (batch.length > 0 && !failure && !signal?.aborted) launch(batch);
    await Promise.all(inFlight);
    signal?.throwIfAborted();
    if (failure) throw failure;
    summary = encoder.summary();
  } catch (err) {
    // Failed or aborted before completing, so it can never commit: cancelled now, the janitor
    // removes its slices on its next pass rather than after the revision's timeout. Best effort:
    // a cancel that does not arrive leaves it to that timeout, as a killed client does. A resume
    // from other bytes leaves it pending: the right source may still resume it; so does any
    // stop of a dispersal asked to keep it.
    if (
      !(err instanceof ResumeMismatchError || err instanceof ResumeHoldError) &&
      !opts.keepPending
    )
      await cancelDispersal(client, vault, opened.revision).catch(() => undefined);
    throw err;
  }
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
    skipped,
    state: res.status === 201 ? 'committed' : 'pending',
  };
}

/** A segment's slices as the encoder made them. */
type Encoded = { slices: Uint8Array[]; buffers: Uint8Array[] };

/** One encoded segment of `length` bytes, ready to place: its slices' sizes and CRC-32s. */
function flightOf(segment: number, length: number, { slices, buffers }: Encoded): Flight {
  return {
    segment,
    length,
    slices,
    buffers,
    sizes: slices.map((s) => s.length),
    crc32: crcsOf(slices),
  };
}

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
 * is announced as missing, so the committer decides as it does for the server's writer.
 * The CLI uses it now; an SDK can take it as it is (it needs only fetch and shared/codec).
 */
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { codecFor, encodeStream, s3Crc32, sliceNamesOf } from '../shared/codec/index.ts';
import { type DsnClient, vaultPath } from './client.ts';
import { ApiError } from './errors.ts';

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
  /** Each slice until it is placed (then dropped, so its memory can go). */
  slices: Array<Uint8Array | undefined>;
  sizes: number[];
  crc32: string[];
}

/** Sends one slice: a PUT of `body` to `url` with the signed headers. Tests wrap it. */
export type SlicePut = (
  url: string,
  body: Uint8Array,
  headers: Record<string, string>,
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
  /** Bytes of the object placed so far (its slices in the buckets). */
  onProgress?: (bytes: number) => void;
  /** Once the revision is open (tests kill the client mid-upload). */
  onOpen?: (revision: string) => void;
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

/** Connections kept open between slice PUTs: one per PUT in flight. */
const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};

/**
 * A slice PUT over node:http rather than fetch: fetch copies a Uint8Array body before sending
 * it, which with a dozen 2 MiB slices in flight is the difference between staying under the
 * memory bound and not.
 */
const defaultPut: SlicePut = (url, body, headers) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const req = (secure ? https : http).request(
      target,
      {
        method: 'PUT',
        agent: secure ? agents.https : agents.http,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500 })),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });

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
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const busy =
        err instanceof ApiError && (err.status === 429 || (err.status >= 500 && err.code === ''));
      if (!busy || attempt >= CALL_ATTEMPTS) throw err;
      await sleep(200 * 2 ** attempt);
    }
  }
}

/**
 * Writes `source` to vault/key by client-side dispersal and completes it.
 * @throws ApiError (503 WriteThresholdNotMet when fewer than T units took a segment)
 */
export async function uplinkPut(
  client: DsnClient,
  source: AsyncIterable<Uint8Array>,
  vault: string,
  key: string,
  opts: UplinkOptions = {},
): Promise<UplinkResult> {
  const batchSize = opts.batch ?? 2;
  const batchesInFlight = opts.batchesInFlight ?? 2;
  const attempts = opts.attempts ?? 4;
  const put = opts.putSlice ?? defaultPut;
  const base = `${vaultPath(vault)}/dispersals`;
  const opened = await retried(() =>
    client.json<Opened>('POST', base, { body: { key, ...opts.attributes } }),
  );
  opts.onOpen?.(opened.revision);
  const at = `${base}/${opened.revision}`;
  const k = opened.readThreshold;
  const codec = codecFor(k, opened.width - k);
  const slots = limiter(opts.parallelPuts ?? 12);
  let placed = 0;
  let resent = 0;

  const describe = (batch: Flight[]) =>
    batch.map((f) => ({
      segment: f.segment,
      slices: f.sizes.map((size, pillar) => ({ pillar, crc32: f.crc32[pillar], size })),
    }));
  const urlsFor = async (batch: Flight[]) => {
    const answer = await retried(() =>
      client.json<{ urls: SliceUrl[] }>('POST', `${at}/urls`, {
        body: {
          segments: describe(batch),
          ...(opts.urlSeconds ? { expiresInSeconds: opts.urlSeconds } : {}),
        },
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
      if (attempt > 1) resent++;
      const url = urls.current.get(`${f.segment}/${pillar}`) as string;
      let res: Response;
      try {
        res = await slots(() => put(url, body, headers));
      } catch (err) {
        last = `${(err as Error).name}: ${(err as Error).message}`;
        await sleep(25 * 2 ** attempt);
        continue;
      }
      const text = res.ok ? '' : await res.text();
      if (res.ok) {
        await res.arrayBuffer().catch(() => {});
        f.slices[pillar] = undefined;
        return undefined;
      }
      const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? String(res.status);
      last = `${res.status} ${code}`;
      // Damaged on the way: S3 kept nothing, send the same bytes again.
      if (code === 'BadDigest') continue;
      // The window closed: ask for this batch's URLs again.
      if (res.status === 403 && /expired/i.test(text)) {
        urls.current = await urlsFor(batch);
        continue;
      }
      if (res.status >= 500 || res.status === 429) await sleep(25 * 2 ** attempt);
      else break;
    }
    return `the client could not place it: ${last}`;
  };

  const sendBatch = async (batch: Flight[]) => {
    const urls = { current: await urlsFor(batch) };
    const missing = await Promise.all(
      batch.map((f) =>
        Promise.all(
          f.sizes.map(async (size, pillar) => {
            const why = await place(batch, urls, f, pillar);
            placed += size * (k / opened.width);
            opts.onProgress?.(Math.round(placed));
            return why;
          }),
        ),
      ),
    );
    const segments = describe(batch).map((s, i) => ({
      ...s,
      slices: s.slices.map((slice, pillar) => {
        const why = missing[i]?.[pillar];
        return why === undefined ? slice : { ...slice, missing: why };
      }),
    }));
    await retried(() => client.json('POST', `${at}/segments`, { body: { segments } }));
  };

  const stream = encodeStream(source, {
    codec,
    segmentSize: opened.segmentSize,
    name: sliceNamesOf(opened),
  });
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const launch = (batch: Flight[]) => {
    const p = sendBatch(batch)
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  let batch: Flight[] = [];
  let summary: { size: number; sha256: string; segments: number } | undefined;
  for (;;) {
    const step = await stream.next();
    if (step.done) {
      summary = step.value;
      break;
    }
    if (failure) break;
    const { index, slices } = step.value;
    batch.push({
      segment: index,
      slices,
      sizes: slices.map((s) => s.length),
      crc32: slices.map((s) => s3Crc32(s)),
    });
    if (batch.length >= batchSize) {
      launch(batch);
      batch = [];
      while (inFlight.size >= batchesInFlight) await Promise.race(inFlight);
    }
  }
  if (batch.length > 0 && !failure) launch(batch);
  await Promise.all(inFlight);
  if (failure || !summary) {
    await stream.return(undefined as never);
    throw failure;
  }
  const done = summary;
  const res = await retried(() => client.request('POST', `${at}/complete`, { body: done }));
  const answer = (await res.json()) as { revision: string; size?: number; sha256?: string };
  if (res.status === 201 && answer.sha256 !== summary.sha256)
    throw new ApiError(500, 'Sha256Mismatch', `committed sha256 ${answer.sha256} differs`);
  return {
    revision: opened.revision,
    size: summary.size,
    sha256: summary.sha256,
    segments: summary.segments,
    resent,
    state: res.status === 201 ? 'committed' : 'pending',
  };
}

/**
 * Client-side reads ("downlink"), the way back of the uplink (client/uplink.ts): the client asks
 * the API for the object's manifest and presigned GET URLs of a window of its slices
 * (`POST /vaults/{vault}/retrievals`), GETs the slices straight from the units' buckets, and
 * rebuilds each segment with the server's own reader (shared/store/reader.ts): data slices
 * first, which a systematic code hands back without decoding; a missing, damaged or slow one
 * turns the read to any k good slices, parity included. No byte passes through the API.
 *
 * The next window of URLs is asked while the current one is read, a URL that expired is asked
 * again, and windows after the first name the revision the first answered, so the read never
 * mixes two revisions (412 when the key moved meanwhile). Damage met in stored slices (missing,
 * bad bytes) is reported back for the rebuilder, as a server-side read reports it; a unit that
 * only errs or is slow to this client is not (that may be the client's own network), and when
 * no bucket answers at all the read ends with UnitsUnreachableError rather than a lost segment.
 * Copies staged at edge units for the caller's client group come with each window and are read
 * first, as a GET through the API reads them.
 */
import { systemClock } from '../shared/clock.ts';
import { parseSliceName } from '../shared/codec/index.ts';
import { SegmentLostError, SliceNotFoundError } from '../shared/errors.ts';
import { type Logger, silentLogger } from '../shared/log.ts';
import type { IndexEntry } from '../shared/store/ports.ts';
import { type EdgeSlices, readEntry } from '../shared/store/reader.ts';
import type { Retrieval, RetrievalManifest } from '../shared/store/retrieval.ts';
import {
  DAMAGE_DEFECTS,
  MAX_DAMAGE_PER_REPORT,
  type SliceDamage,
} from '../shared/store/slice-damage.ts';
import { sleep } from './call-pacing.ts';
import { type ApiCalls, DsnApiError, vaultPath } from './dsn-client.ts';
import {
  type SliceResponse,
  s3ErrorOf,
  sliceRequest,
  UnitsUnreachableError,
} from './slice-http.ts';

/** Tries of one window of URLs that met no answer or a busy API. */
const ASK_ATTEMPTS = 4;

/** An answer of the API's that asking again will not change: a 4xx but 429. */
function refusal(err: unknown): boolean {
  const { status } = err as { status?: unknown };
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 429;
}

export { type SliceResponse, UnitsUnreachableError };

/** Sends one slice GET. Tests wrap it. */
export type SliceGet = (url: string, signal: AbortSignal) => Promise<SliceResponse>;

export interface DownlinkOptions {
  /** Segments per URL window (the API's most, 32, by default). */
  window?: number;
  /** How long URLs work; the API's default (300 s) when absent. */
  urlSeconds?: number;
  /**
   * How long a segment's slices may take before one more pillar is asked. Longer than the
   * server's 250 ms: this client's link, not the unit, is what is usually slow.
   */
  hedgeMs?: number;
  getSlice?: SliceGet;
  log?: Logger;
  /**
   * Stops the read: slice GETs in flight are cut off, no window is asked after it, and the body
   * throws the signal's reason (no damage is reported for what the abort cut off).
   */
  signal?: AbortSignal;
}

/** What a finished (or failed) downlink read did. */
export interface DownlinkStats {
  /** Slice GETs sent, and of them those sent again after their URL expired. */
  gets: number;
  refreshed: number;
  /** URL windows asked of the API. */
  windows: number;
  /** Damage records met, and reported to the API for repair. */
  damaged: number;
  reported: number;
  /** Segments read from edge copies staged for the caller's client group, and from the home units. */
  served: { edge: number; home: number };
}

export interface Downlink {
  /** The revision read, as its first window's manifest gives it. */
  manifest: RetrievalManifest;
  /** The object's bytes, segment by segment; memory stays within a few segments. */
  body: AsyncIterable<Uint8Array>;
  stats: DownlinkStats;
}

/** A slice GET (client/slice-http.ts). */
const defaultGet: SliceGet = (url, signal) => sliceRequest(url, { method: 'GET', signal });

/** Defects of what a unit stores: the rebuilder can act on these, not on a unit that erred. */
const STORED_DEFECTS = new Set<string>(DAMAGE_DEFECTS.filter((d) => d !== 'unreadable'));

/**
 * Opens a read of vault/key by the downlink: asks its first window (which gives the manifest)
 * and returns a body that reads the rest.
 * @throws the client's API error (404 ObjectNotFound, 403 NotScanned or Quarantined, ...) from
 * the first window; the body throws it with 412 when the key moves to another revision mid-read,
 * and DsnApiError 403 when a unit's bucket refuses URLs asked again.
 */
export async function openDownlink(
  client: ApiCalls,
  vault: string,
  key: string,
  opts: DownlinkOptions = {},
): Promise<Downlink> {
  const width = opts.window ?? 32;
  const { signal: stop } = opts;
  stop?.throwIfAborted();
  const getSlice = opts.getSlice ?? defaultGet;
  /** A slice GET cut off by the reader's own signal (a hedge won) or by the caller's. */
  const get: SliceGet = (url, signal) =>
    getSlice(url, stop ? AbortSignal.any([signal, stop]) : signal);
  const stats: DownlinkStats = {
    gets: 0,
    refreshed: 0,
    windows: 0,
    damaged: 0,
    reported: 0,
    served: { edge: 0, home: 0 },
  };
  /**
   * One window of URLs. A retrieval only reads, so one that met no answer or a busy API (a
   * network error, 429, a gateway's 5xx) is asked again, a few times; the API's refusals
   * (the key moved on: 412; gone: 404; not allowed: 403) end the read.
   */
  const ask = async (first: number, revision?: string): Promise<Retrieval> => {
    for (let attempt = 1; ; attempt++) {
      stop?.throwIfAborted();
      stats.windows++;
      try {
        const answer = await client.postJson<Retrieval>(`${vaultPath(vault)}/retrievals`, {
          key,
          first,
          count: width,
          ...(revision === undefined ? {} : { revision }),
          ...(opts.urlSeconds === undefined ? {} : { expiresInSeconds: opts.urlSeconds }),
        });
        return answer.body;
      } catch (err) {
        if (refusal(err) || attempt >= ASK_ATTEMPTS || stop?.aborted) throw err;
        await sleep(100 * 2 ** attempt, stop);
      }
    }
  };
  const opened = await ask(0);
  const { first: _f, count: _c, expiresAt: _e, slices: _s, ...manifest } = opened;
  /** Edge copies of the windows asked so far, by segment: each staged pillar's unit and URL. */
  const staged = new Map<number, Map<number, { unit: number; key: string }>>();
  /** Each edge URL's slice, and the window answer that gave it (to ask again once it expires). */
  const edgeUrls = new Map<
    string,
    { segment: number; pillar: number; from: Promise<Map<string, string>> }
  >();
  const urlsOf = (r: Retrieval, from: Promise<Map<string, string>>) => {
    for (const e of r.edge) {
      const pillars = staged.get(e.segment) ?? new Map<number, { unit: number; key: string }>();
      staged.set(e.segment, pillars);
      pillars.set(e.pillar, { unit: e.unit, key: e.url });
      edgeUrls.set(e.url, { segment: e.segment, pillar: e.pillar, from });
    }
    return new Map(r.slices.map((s) => [`${s.segment}/${s.pillar}`, s.url]));
  };

  /**
   * Windows of URLs by index, asked once each. `stale`: the URLs a slice GET found expired; the
   * window is asked again unless another slice has already replaced them (all of a window's
   * URLs expire together, and one new window serves every slice that met the old one).
   */
  const first: Promise<Map<string, string>> = Promise.resolve().then(() => urlsOf(opened, first));
  const windows = new Map<number, Promise<Map<string, string>>>([[0, first]]);
  const windowOf = (
    w: number,
    stale?: Promise<Map<string, string>>,
  ): Promise<Map<string, string>> => {
    let urls = windows.get(w);
    if (!urls || urls === stale) {
      const asked: Promise<Map<string, string>> = ask(w * width, manifest.revision).then((r) =>
        urlsOf(r, asked),
      );
      urls = asked;
      // Awaited by every slice of the window. Failed but for a refusal, it is forgotten, so the
      // next slice that needs the window asks again: a window asked ahead that met a blip does
      // not fail the read when its turn comes.
      urls.catch((err: unknown) => {
        if (!refusal(err) && windows.get(w) === asked) windows.delete(w);
      });
      windows.set(w, urls);
      // The URLs of windows read through are not needed again, their edge copies' included
      // (an edge URL replaced by a window asked again stays until its segment's window goes).
      for (const old of windows.keys()) if (old < w - 1) windows.delete(old);
      for (const [url, at] of edgeUrls)
        if (Math.floor(at.segment / width) < w - 1) {
          edgeUrls.delete(url);
          staged.delete(at.segment);
        }
    }
    return urls;
  };
  /** Why the read cannot go on whatever slices are left (an API refusal): thrown over SegmentLost. */
  let fatal: Error | undefined;
  /** Whether any slice GET got an HTTP answer, and the first that got none. */
  let answered = false;
  let unreachable: unknown;

  const fetchSlice = async (name: string, signal: AbortSignal) => {
    const { segment, pillar } = parseSliceName(name);
    const w = Math.floor(segment / width);
    // Half way through a window, the next one is asked, off the read's path.
    if (segment % width >= width / 2 && (w + 1) * width < manifest.segments)
      void windowOf(w + 1).catch(() => {});
    let stale: Promise<Map<string, string>> | undefined;
    for (let attempt = 0; ; attempt++) {
      const asked = windowOf(w, stale);
      let urls: Map<string, string>;
      try {
        urls = await asked;
      } catch (err) {
        if (refusal(err)) fatal ??= err as Error;
        throw err;
      }
      const url = urls.get(`${segment}/${pillar}`);
      if (!url) throw new Error(`the API gave no URL for segment ${segment} pillar ${pillar}`);
      stats.gets++;
      const res = await get(url, signal).catch((err: unknown) => {
        if (!signal.aborted && !stop?.aborted) unreachable ??= err;
        throw err;
      });
      answered = true;
      if (res.status === 200 || res.status === 206) return res.body;
      const e = s3ErrorOf(res.body);
      if (res.status === 404) throw new SliceNotFoundError(manifest.units[pillar] as number, name);
      // An expired URL: the window is asked again, once.
      if (res.status === 403 && attempt === 0) {
        stats.refreshed++;
        stale = asked;
        continue;
      }
      const refused = new Error(
        `unit ${manifest.units[pillar]} answered ${res.status} ${e.code}${e.message ? `: ${e.message}` : ''}`,
      );
      if (res.status === 403)
        fatal ??= new DsnApiError(403, e.code || 'AccessDenied', refused.message);
      throw refused;
    }
  };

  const met: SliceDamage[] = [];
  const deps = {
    slices: {
      get: (_unit: number, name: string, signal?: AbortSignal) =>
        fetchSlice(name, signal ?? new AbortController().signal),
    },
    repair: {
      record: async (damage: SliceDamage[]) => {
        met.push(...damage);
      },
    },
    log: opts.log ?? silentLogger,
    clock: systemClock,
    hedgeMs: opts.hedgeMs ?? 5000,
  };
  const entry: IndexEntry = manifest;
  // The reader asks a segment's edge copies first, verified as home ones, and falls back to the
  // home units when they cannot give it (an expired or failing edge URL included). A segment's
  // copies are known once its window is: windows after the first are asked ahead of their use.
  const edge: EdgeSlices = {
    revision: manifest.revision,
    // A staged pillar's key is its presigned URL.
    slices: {
      get: async (unit, url, signal) => {
        const cut = signal ?? new AbortController().signal;
        stats.gets++;
        let res = await get(url, cut);
        const at = edgeUrls.get(url);
        if (res.status === 403 && at) {
          // An expired URL: its window is asked again (once for all the slices that meet it),
          // and the slice is read by its new URL.
          await windowOf(Math.floor(at.segment / width), at.from).catch(() => {});
          const fresh = staged.get(at.segment)?.get(at.pillar)?.key;
          if (fresh !== undefined && fresh !== url) {
            stats.refreshed++;
            stats.gets++;
            res = await get(fresh, cut);
          }
        }
        if (res.status === 200) return res.body;
        if (res.status === 404) throw new SliceNotFoundError(unit, 'its edge copy');
        throw new Error(`edge unit ${unit} answered ${res.status} ${s3ErrorOf(res.body).code}`);
      },
    },
    placement: async (segment) => {
      // A window that cannot be had leaves the segment to the home path, which reports why.
      await windowOf(Math.floor(segment / width)).catch(() => {});
      return staged.get(segment);
    },
    served: stats.served,
  };

  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      for await (const part of readEntry(deps, entry, undefined, edge)) {
        stop?.throwIfAborted();
        yield part;
      }
    } catch (err) {
      if (stop?.aborted) {
        // What the abort cut off is no damage of the units'.
        met.length = 0;
        throw stop.reason;
      }
      if (fatal && err instanceof SegmentLostError) throw fatal;
      if (!answered && unreachable !== undefined && err instanceof SegmentLostError)
        throw new UnitsUnreachableError(unreachable);
      throw err;
    } finally {
      stats.damaged = met.length;
      await report(client, vault, manifest, met, stats, opts.log);
    }
  }
  return { manifest, body: body(), stats };
}

/** Sends the stored damage met to the API for the rebuilder; a failure to report is logged only. */
async function report(
  client: ApiCalls,
  vault: string,
  manifest: { key: string; revision: string },
  met: SliceDamage[],
  stats: DownlinkStats,
  log: Logger | undefined,
): Promise<void> {
  const damage = met
    .filter((d) => STORED_DEFECTS.has(d.defect))
    .map((d) => ({
      segment: d.segment,
      pillar: d.pillar,
      defect: d.defect,
      detail: d.detail.slice(0, 1000),
    }));
  for (let i = 0; i < damage.length; i += MAX_DAMAGE_PER_REPORT) {
    try {
      const { body } = await client.postJson<{ recorded: number }>(
        `${vaultPath(vault)}/retrievals/damage`,
        {
          key: manifest.key,
          revision: manifest.revision,
          damage: damage.slice(i, i + MAX_DAMAGE_PER_REPORT),
        },
      );
      const { recorded } = body;
      stats.reported += recorded;
    } catch (err) {
      log?.warn('damage met by the read was not reported for repair', {
        error: (err as Error).message,
      });
    }
  }
}

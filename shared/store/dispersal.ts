/**
 * Client-side dispersal ("uplink"): the client is the first DS processing unit. It opens a
 * revision (recorded pending exactly as the server's writer records one), encodes segments with
 * the same codec, asks for presigned PUT URLs of their slices (each URL names one key in its
 * unit's bucket, with the slice's CRC-32 and size signed in, so S3 refuses other bytes), PUTs
 * them straight to the buckets, then asks for the claim-check multicast of those segments:
 * slice names and CRCs, no bytes. From there units verify and publish statuses, and the
 * committer commits at T, as for any write. Completing records the count, size and SHA-256
 * and waits for the outcome as a PUT does.
 *
 * Every call is idempotent: URLs can be asked again, a segment announced twice is counted once
 * (units and committer already dedupe), and completing again answers the same outcome. A
 * dispersal stays pending while it makes progress, however long it runs: the janitor fails one
 * that made no call for the pending timeout. Where it stands, and its cancel, are in
 * dispersal-state.ts.
 */
import type { z } from 'zod';
import type { Clock } from '../clock.ts';
import { formatSliceName, segmentCount, sliceNamesOf } from '../codec/index.ts';
import {
  DispersalStateError,
  InvalidParameterError,
  RevisionNotFoundError,
  TopologySupersededError,
} from '../errors.ts';
import { parseWith } from '../validate.ts';
import { fenceRevision } from './commit-fence.ts';
import {
  completeDispersalSchema,
  DISPERSAL_URL_SECONDS,
  dispersalSegmentsSchema,
  openDispersalSchema,
} from './dispersal-request.ts';
import { TIMED_OUT } from './janitor.ts';
import type { SliceEnvelope, UnitMessage } from './multicast.ts';
import { attributesFromFields, checkPrecondition, parsePrecondition } from './object-attributes.ts';
import type { Ledger, Multicast, ObjectIndex, SlicePresigner, VaultStore } from './ports.ts';
import { dispersingKey, extendedDueAt, type RevisionRecord } from './revision.ts';
import { isSuperseded, topologyReader } from './superseded-write.ts';
import { type WriteOutcome, waitForOutcome } from './write-outcome.ts';
import { judgeOf, pendingRevision } from './writer.ts';

export interface DispersalDeps {
  vaults: VaultStore;
  ledger: Ledger;
  index: ObjectIndex;
  multicast: Multicast;
  presigner: SlicePresigner;
  clock: Clock;
  /** After this long a revision still pending is failed and removed by the janitor. */
  pendingTimeoutMs: number;
}

/** SNS PublishBatch takes ten messages. */
const MESSAGES_PER_SEND = 10;

type Segments = z.infer<typeof dispersalSegmentsSchema>['segments'];

/** A dispersal as opened: the revision, and the geometry to encode it with. */
export interface OpenedDispersal {
  vault: string;
  key: string;
  revision: string;
  objectId: string;
  width: number;
  readThreshold: number;
  writeThreshold: number;
  segmentSize: number;
  units: number[];
  /**
   * After this the revision is failed and removed unless committed, or moved on by a later
   * call (each call with less than half the pending timeout left moves it on: keepPending).
   */
  pendingUntil: string;
}

/** One slice's URL: PUT its bytes with `headers` and a `content-length` of `size`. */
export interface SliceUrl {
  segment: number;
  pillar: number;
  unit: number;
  key: string;
  crc32: string;
  size: number;
  url: string;
  /** What the PUT must send, as signed: its CRC-32, and `If-None-Match: *` (create-only). */
  headers: Record<string, string>;
}

/**
 * The headers a slice PUT sends, as its URL signs them: S3 checks the bytes against the CRC-32,
 * and refuses the PUT (412 PreconditionFailed) once the key holds a slice, so a URL can never
 * replace what units verified and a scan read.
 */
export function slicePutHeaders(crc32: string): Record<string, string> {
  return { 'x-amz-checksum-crc32': crc32, 'if-none-match': '*' };
}

/**
 * Opens a dispersal: a pending revision of `key`, written as `writer`'s (a root key id).
 * @throws VaultNotFoundError, InvalidParameterError, PreconditionFailedError
 */
export async function openDispersal(
  deps: DispersalDeps,
  vaultName: string,
  body: unknown,
  writer?: string,
): Promise<OpenedDispersal> {
  const request = parseWith(openDispersalSchema, body);
  const vault = await deps.vaults.get(vaultName);
  const precondition = parsePrecondition({
    'if-match': request.ifMatch,
    'if-none-match': request.ifNoneMatch,
  });
  if (precondition)
    checkPrecondition(request.key, precondition, await deps.index.get(vault.name, request.key));
  const now = deps.clock.date();
  const record = {
    ...pendingRevision(vault, request.key, now, {
      attributes: attributesFromFields(request),
      ...(precondition ? { precondition } : {}),
      ...(writer === undefined ? {} : { writer }),
    }),
    // Listed for its writer while pending (GET .../dispersals).
    dispersing: dispersingKey(vault.name, writer),
    ...(request.token === undefined ? {} : { openToken: request.token }),
    clientPlaced: true,
  };
  const dueAt = now.getTime() + deps.pendingTimeoutMs;
  await Promise.all([
    deps.ledger.createPending(record, dueAt),
    deps.ledger.openSegment(record.revision, 0, judgeOf(vault)),
  ]);
  return openedOf(record, dueAt);
}

/** The dispersal `record` is, as its client encodes it, due at `dueAt` (epoch ms). */
export function openedOf(record: RevisionRecord, dueAt: number): OpenedDispersal {
  return {
    vault: record.vault,
    key: record.key,
    revision: record.revision,
    objectId: record.objectId,
    width: record.units.length,
    readThreshold: record.readThreshold,
    writeThreshold: record.writeThreshold,
    segmentSize: record.segmentSize,
    units: record.units,
    pendingUntil: new Date(dueAt).toISOString(),
  };
}

/** The revision of a dispersal `writer` opened in `vault`; another's is not shown. */
export async function dispersalOf(
  deps: Pick<DispersalDeps, 'ledger'>,
  vault: string,
  revision: string,
  writer: string | undefined,
): Promise<RevisionRecord> {
  const record = await deps.ledger.get(revision);
  if (!record || record.vault !== vault || record.writer !== writer)
    throw new RevisionNotFoundError(vault, revision);
  return record;
}

function pendingOnly(record: RevisionRecord): void {
  if (record.state !== 'pending')
    throw new DispersalStateError(
      record.revision,
      `is ${record.state}; slices are taken only while it is pending`,
    );
}

/**
 * Keeps a dispersal that makes progress from timing out (extendedDueAt): however large, it is
 * failed only a pending timeout after its last call, or at its longest age.
 * @returns its due time after (epoch ms) @throws DispersalStateError when it is pending no more
 */
async function keepPending(
  deps: Pick<DispersalDeps, 'vaults' | 'ledger' | 'clock' | 'pendingTimeoutMs'>,
  record: RevisionRecord,
): Promise<number> {
  await fenceSuperseded(deps, record);
  const created = Date.parse(record.createdAt);
  const now = deps.clock.now();
  const dueAt = extendedDueAt(created, record.dueAt, now, deps.pendingTimeoutMs);
  if (dueAt === undefined) {
    const due = record.dueAt ?? created + deps.pendingTimeoutMs;
    // Past its due time with no more to give (its longest age): it fails now, not at the
    // janitor's next run, which may come later than a delete's tombstone lasts.
    if (due <= now) {
      const timedOut = new DispersalStateError(
        record.revision,
        'is past the longest a write may stay pending; it is failed',
      );
      if (await deps.ledger.fail(record.revision, TIMED_OUT, now, now)) throw timedOut;
      // Committed, failed or moved on by another call meanwhile: that says.
      const ended = await deps.ledger.get(record.revision);
      if (ended) pendingOnly(ended);
      throw timedOut;
    }
    return due;
  }
  if (await deps.ledger.extendPending(record.revision, dueAt)) return dueAt;
  // Failed (timed out, cancelled) or committed just now, or moved on by another call.
  const again = await deps.ledger.get(record.revision);
  if (!again) throw new DispersalStateError(record.revision, 'is gone; it timed out');
  pendingOnly(again);
  return again.dueAt ?? dueAt;
}

/**
 * Fails a dispersal whose vault moved to another topology past the grace: it could no longer
 * commit (superseded-write.ts), so its client learns it now, not after its last slice.
 * @throws TopologySupersededError saying so
 */
async function fenceSuperseded(
  deps: Pick<DispersalDeps, 'vaults' | 'ledger' | 'clock'>,
  record: RevisionRecord,
): Promise<void> {
  const now = deps.clock.now();
  const fenced = await fenceRevision(deps.ledger, record, topologyReader(deps.vaults), now);
  // Committed meanwhile (within the grace) goes on as committed.
  if (fenced?.state === 'failed' && isSuperseded(fenced.reason))
    throw new TopologySupersededError(record.revision, fenced.reason ?? '');
}

/** Each segment must list every pillar once, within the count once it is known. */
function checkSegments(record: RevisionRecord, segments: Segments): void {
  const width = record.units.length;
  segments.forEach((s, i) => {
    const pillars = s.slices.map((x) => x.pillar).sort((a, b) => a - b);
    if (pillars.length !== width || pillars.some((p, j) => p !== j))
      throw new InvalidParameterError(
        `segments[${i}].slices`,
        `must list each pillar 0..${width - 1} once, got [${pillars.join(',')}]`,
      );
    if (record.segments !== undefined && s.segment >= record.segments)
      throw new InvalidParameterError(
        `segments[${i}].segment`,
        `must be below the ${record.segments} segments completed, got ${s.segment}`,
      );
  });
}

/**
 * Presigned PUT URLs for the slices of `body.segments`, each scoped to its key, CRC-32 and size.
 * @throws RevisionNotFoundError, DispersalStateError (not pending), InvalidParameterError
 */
export async function presignSlices(
  deps: DispersalDeps,
  vault: string,
  revision: string,
  body: unknown,
  writer?: string,
): Promise<{ expiresAt: string; pendingUntil: string; urls: SliceUrl[] }> {
  const request = parseWith(dispersalSegmentsSchema, body);
  const record = await dispersalOf(deps, vault, revision, writer);
  pendingOnly(record);
  checkSegments(record, request.segments);
  const pendingUntil = new Date(await keepPending(deps, record)).toISOString();
  const seconds = request.expiresInSeconds ?? DISPERSAL_URL_SECONDS;
  const expiresAt = new Date(deps.clock.now() + seconds * 1000).toISOString();
  const name = sliceNamesOf(record);
  const urls = await Promise.all(
    request.segments.flatMap((s) =>
      s.slices.map(async (slice): Promise<SliceUrl> => {
        const unit = record.units[slice.pillar] as number;
        const key = formatSliceName(name(s.segment, slice.pillar));
        return {
          segment: s.segment,
          pillar: slice.pillar,
          unit,
          key,
          crc32: slice.crc32,
          size: slice.size,
          url: await deps.presigner.presignPut(unit, key, slice.crc32, slice.size, seconds),
          headers: slicePutHeaders(slice.crc32),
        };
      }),
    ),
  );
  return { expiresAt, pendingUntil, urls };
}

/**
 * Multicasts the claim-check message of each segment (the slices are in their buckets): one
 * message per segment, as the server's writer sends, up to ten per publish.
 * @throws RevisionNotFoundError, DispersalStateError (not pending), InvalidParameterError
 */
export async function announceSegments(
  deps: DispersalDeps,
  vault: string,
  revision: string,
  body: unknown,
  writer?: string,
): Promise<{ announced: number }> {
  const request = parseWith(dispersalSegmentsSchema, body);
  if (request.expiresInSeconds !== undefined)
    throw new InvalidParameterError('expiresInSeconds', 'is taken only by .../urls');
  const record = await dispersalOf(deps, vault, revision, writer);
  pendingOnly(record);
  checkSegments(record, request.segments);
  await keepPending(deps, record);
  const judge = judgeOf({
    name: record.vault,
    units: record.units,
    writeThreshold: record.writeThreshold,
  });
  const { address } = await deps.vaults.get(vault);
  const name = sliceNamesOf(record);
  // Tallies open before their messages go: units may answer as soon as a message is out.
  await Promise.all(
    request.segments.map((s) =>
      deps.ledger.openSegment(
        revision,
        s.segment,
        judge,
        s.slices.map((slice) => slice.crc32),
      ),
    ),
  );
  const messages = request.segments.map(
    (s): UnitMessage => ({
      v: 1,
      vault: record.vault,
      address,
      revision,
      segment: s.segment,
      slices: s.slices.map(
        (slice): SliceEnvelope => ({
          pillar: slice.pillar,
          unit: record.units[slice.pillar] as number,
          name: formatSliceName(name(s.segment, slice.pillar)),
          crc32: slice.crc32,
          size: slice.size,
          ...(slice.missing === undefined ? {} : { missing: slice.missing }),
        }),
      ),
      // The topology the revision was opened under: units refuse a superseded one's writes.
      ...(record.topology === undefined ? {} : { topology: record.topology }),
    }),
  );
  for (let i = 0; i < messages.length; i += MESSAGES_PER_SEND)
    await deps.multicast.send(address, messages.slice(i, i + MESSAGES_PER_SEND));
  return { announced: messages.length };
}

/**
 * Records what the client encoded and waits up to `waitMs` for the commit, as a PUT does.
 * Completing again (a retried call) only waits for the outcome.
 * @throws RevisionNotFoundError, InvalidParameterError
 */
export async function completeDispersal(
  deps: DispersalDeps,
  vault: string,
  revision: string,
  body: unknown,
  waitMs: number,
  writer?: string,
): Promise<WriteOutcome> {
  const summary = parseWith(completeDispersalSchema, body);
  const record = await dispersalOf(deps, vault, revision, writer);
  // The reader serves `size` bytes in segments of the revision's size: a count short of that
  // would commit with segments no unit confirmed, read from whatever slices their URLs left.
  const expected = segmentCount(summary.size, record.segmentSize);
  if (summary.segments !== expected)
    throw new InvalidParameterError(
      'segments',
      `must be ${expected} for ${summary.size} bytes in segments of ${record.segmentSize}, got ${summary.segments}`,
    );
  if (record.state === 'pending') {
    // Its units and committer have the time they would have had at the start.
    await keepPending(deps, record);
    const finished = await deps.ledger.finishWriting(revision, summary);
    // Statuses may all be in before the count was recorded: then no status is left to make
    // the committer look again, and it is asked to (the commit stays the committer's).
    if (finished.state === 'pending' && finished.doneSegments >= summary.segments) {
      const { address } = await deps.vaults.get(vault);
      await deps.multicast.nudge(address, revision);
    }
  }
  return waitForOutcome(deps, record.key, revision, waitMs, {
    ...(record.precondition ? { precondition: record.precondition } : {}),
    written: { vault, size: summary.size },
  });
}

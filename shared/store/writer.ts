/**
 * The writer: the first DS processing unit of seed 000. It records a pending revision, cuts the
 * body into segments, encodes each into n slices, and sends ONE multicast message per segment
 * to the vault's address carrying every slice name with its slice. Small slices ride in the
 * message; larger ones are first put in their own unit's bucket (claim-check), so the unit's
 * store is a verify, and no byte is written twice. Messages of segments placed close together
 * share one publish call (each stays its own message). The committer decides visibility; the
 * writer then waits, up to a limit, to tell its caller.
 */
import type { Clock } from '../clock.ts';
import {
  BufferPool,
  builtSliceS3Crc32,
  codecFor,
  createResumableSha256,
  type EncodedSegment,
  encodeStream,
  formatSliceName,
  type StreamSummary,
  sliceNamesOf,
} from '../codec/index.ts';
import type { CommitPace } from './commit-pace.ts';
import { INLINE_SLICE_BUDGET, type SliceEnvelope, type UnitMessage } from './multicast.ts';
import {
  checkPrecondition,
  type ObjectAttributes,
  type Precondition,
} from './object-attributes.ts';
import { validateKey } from './object-key.ts';
import type {
  Ledger,
  Multicast,
  ObjectIndex,
  SegmentJudge,
  SliceStore,
  VaultStore,
  WriteScanner,
} from './ports.ts';
import { extendedDueAt, newRevisionId, objectIdOf, type RevisionRecord } from './revision.ts';
import type { Vault } from './vault.ts';
import { type WriteOutcome, waitForOutcome } from './write-outcome.ts';
import { WriteScan } from './write-scan.ts';

export interface WriterDeps {
  /**
   * A caching store (`CachingVaultStore`) spares a read per write; it keeps a vault for at most
   * a second, so a new topology reaches writers well within the units' grace (see unit.ts).
   */
  vaults: VaultStore;
  ledger: Ledger;
  /** Read while waiting: the index points at a revision once it is visible. */
  index: ObjectIndex;
  clock: Clock;
  slices: SliceStore;
  multicast: Multicast;
  /** After this long a revision still pending is failed and removed by the janitor. */
  pendingTimeoutMs: number;
  /**
   * Scans the bytes as they are encoded (write-scan.ts), so the commit's scan task need not
   * read them back. Absent: the task reads them.
   */
  scan?: WriteScanner;
  /** How long commits have taken in this process: the first look for the outcome waits for most of it. */
  pace?: CommitPace;
}

export interface WriteOptions {
  /** How long to wait for the commit before answering `pending`. */
  waitMs: number;
  attributes?: ObjectAttributes;
  /** Checked now (no slice is written when it fails) and again, atomically, at the commit. */
  precondition?: Precondition;
  /** The caller's root key id, kept on the revision: it may read its own upload unscanned. */
  writer?: string;
}

/** Segments whose slices may be in flight at once: bounds memory, overlaps encode and upload. */
const SEGMENTS_IN_FLIGHT = 2;

/**
 * Slices' memory, reused from one segment (and one write) to the next once every unit's copy is
 * placed: 12 MiB per 8 MiB segment that the garbage collector no longer has to count.
 */
const slicePool = new BufferPool();
/** Smaller slices ride in the message or cost little: they are allocated as they come. */
const POOLED_SLICE = 64 * 1024;
const allocateSlice = (length: number) =>
  length >= POOLED_SLICE ? slicePool.take(length) : Buffer.allocUnsafe(length);

/** Segment messages sent together at most (SNS PublishBatch takes ten). */
const MESSAGES_PER_SEND = 10;

/**
 * A new pending revision of `key` in `vault`, as every writer records it (the server's, and a
 * client's dispersal): the vault's geometry fixed on it, so readers decode with what it had.
 */
export function pendingRevision(
  vault: Vault,
  key: string,
  now: Date,
  opts: Pick<WriteOptions, 'attributes' | 'precondition' | 'writer'>,
): RevisionRecord {
  return {
    revision: newRevisionId(now.getTime()),
    vault: vault.name,
    key,
    objectId: objectIdOf(vault.name, key),
    state: 'pending',
    segmentSize: vault.segmentSize,
    readThreshold: vault.readThreshold,
    writeThreshold: vault.writeThreshold,
    units: vault.units,
    ...(vault.topology === undefined ? {} : { topology: vault.topology }),
    doneSegments: 0,
    failedUnits: [],
    createdAt: now.toISOString(),
    tasksDone: false,
    ...(opts.attributes && Object.keys(opts.attributes).length > 0
      ? { attributes: opts.attributes }
      : {}),
    ...(opts.precondition ? { precondition: opts.precondition } : {}),
    ...(opts.writer === undefined ? {} : { writer: opts.writer }),
  };
}

/** What the committer needs to judge a segment of a revision written to `vault`. */
export function judgeOf(vault: Pick<Vault, 'name' | 'units' | 'writeThreshold'>): SegmentJudge {
  return { vault: vault.name, width: vault.units.length, writeThreshold: vault.writeThreshold };
}

/**
 * Writes `body` as a new revision of `key` and waits up to `waitMs` for its commit. `writer`
 * (the caller's root key id) is kept on the revision: it may read its own upload unscanned.
 * @throws VaultNotFoundError, InvalidParameterError (bad key), PreconditionFailedError (when
 * the precondition fails before anything is written)
 */
export async function writeObject(
  deps: WriterDeps,
  vaultName: string,
  key: string,
  body: AsyncIterable<Uint8Array>,
  opts: WriteOptions,
): Promise<WriteOutcome> {
  const outcome = await writeObjectInSteps(deps, vaultName, key, body, opts);
  // Nothing asked it to stop or to claim its revision, so it went to the end.
  if (outcome.state === 'paused' || outcome.state === 'unclaimed')
    throw new Error(`a write with no stop and no claim answered ${outcome.state}`);
  return outcome;
}

/** Where a write in steps stopped: the next segment, the bytes before it, and their hash so far. */
export interface WritePoint {
  segment: number;
  size: number;
  /** `ResumableSha256.save()` after those bytes; absent at the start (segment 0, no bytes). */
  sha256State?: string;
}

export interface SteppedWriteOptions extends WriteOptions {
  /**
   * Asked before each segment after the step's first, with the bytes of the object sent so far
   * (this step's and the earlier ones'): true stops the write at that boundary,
   * every segment sent so far placed and announced, and answers `paused` with where to go on.
   * The write then hashes resumably (hash-wasm) and does not scan as it writes (the commit's
   * scan task reads the bytes back).
   */
  stopBefore?: (sent: number) => boolean;
  /** Goes on with this pending revision from where an earlier step stopped: `body` is the rest. */
  resume?: { record: RevisionRecord; at: WritePoint };
  /**
   * Asked, with the revision a new write opens, as its pending record is made and before any
   * slice is placed: false means another writer of the same bytes (a duplicate delivery) holds
   * the write, and this one fails its own revision and answers `unclaimed`.
   */
  claim?: (revision: string) => Promise<boolean>;
}

export type SteppedOutcome =
  | WriteOutcome
  | { state: 'paused'; key: string; revision: string; at: Required<WritePoint> }
  | { state: 'unclaimed'; key: string; revision: string };

/** Why a write whose claim was refused fails its own revision, with nothing placed. */
export const UNCLAIMED = 'another delivery of the same write holds it';

/**
 * `writeObject` in steps, each of which may be a separate process: a dispersal longer than one
 * Lambda invocation (the disperser's) stops at a segment boundary when `stopBefore` says so,
 * and the next step resumes the same pending revision with the rest of the body, its hash
 * taken up where it stopped. The revision commits once, after the last step.
 */
export async function writeObjectInSteps(
  deps: WriterDeps,
  vaultName: string,
  key: string,
  body: AsyncIterable<Uint8Array>,
  opts: SteppedWriteOptions,
): Promise<SteppedOutcome> {
  validateKey(key);
  const { resume } = opts;
  const current = await deps.vaults.get(vaultName);
  // The cheap early answer; the one that counts is the index's conditional write at the commit.
  if (opts.precondition && !resume)
    checkPrecondition(key, opts.precondition, await deps.index.get(current.name, key));
  const now = resume ? new Date(resume.record.createdAt) : deps.clock.date();
  const record = resume?.record ?? pendingRevision(current, key, now, opts);
  // A resumed revision keeps the geometry it was opened with; messages go to today's address.
  const vault: Vault = resume
    ? {
        ...current,
        units: record.units,
        readThreshold: record.readThreshold,
        writeThreshold: record.writeThreshold,
        segmentSize: record.segmentSize,
        width: record.units.length,
        ...(record.topology === undefined ? {} : { topology: record.topology }),
      }
    : current;
  const { revision } = record;
  const k = vault.readThreshold;
  const codec = codecFor(k, vault.width - k);
  const judge = judgeOf(vault);

  const name = sliceNamesOf(record);
  // A placed segment's message waits while other segments are still being placed, up to a
  // batch: one publish then carries them all, and each unit gets them in one invocation (one
  // status message back instead of one per segment). A stream that pauses sends what it has.
  const ready: UnitMessage[] = [];
  let placing = 0;
  const flush = async () => {
    const batch = ready.splice(0);
    if (batch.length > 0) await deps.multicast.send(vault.address, batch);
  };
  const sendSegment = async (segment: number, slices: Uint8Array[]) => {
    placing++;
    try {
      const total = slices.reduce((n, s) => n + s.length, 0);
      const inline = total <= INLINE_SLICE_BUDGET;
      const placed = Promise.all(
        slices.map(async (bytes, pillar): Promise<SliceEnvelope> => {
          const unit = vault.units[pillar] as number;
          const envelope: SliceEnvelope = {
            pillar,
            unit,
            name: formatSliceName(name(segment, pillar)),
            crc32: builtSliceS3Crc32(bytes),
            size: bytes.length,
          };
          if (inline) return { ...envelope, data: Buffer.from(bytes).toString('base64') };
          try {
            await deps.slices.put(unit, envelope.name, bytes, envelope.crc32);
          } catch (err) {
            envelope.missing = `${(err as Error).name}: ${(err as Error).message}`;
          }
          return envelope;
        }),
      );
      // The tally opens while the slices travel: units may answer as soon as the message is out.
      const [envelopes] = await Promise.all([
        placed,
        segment > 0 ? deps.ledger.openSegment(revision, segment, judge) : undefined,
      ]);
      // Every placement has settled (each catches its own failure): no byte is read again.
      for (const bytes of slices) slicePool.give(bytes);
      ready.push({
        v: 1,
        vault: vault.name,
        address: vault.address,
        revision,
        segment,
        slices: envelopes,
        ...(vault.topology === undefined ? {} : { topology: vault.topology }),
      });
    } finally {
      placing--;
    }
    if (placing === 0 || ready.length >= MESSAGES_PER_SEND) await flush();
  };

  // A write that may stop hashes resumably and leaves the scan to the commit's task: neither a
  // scanner's session nor node's hash outlives the process.
  const stepped = opts.stopBefore !== undefined || resume !== undefined;
  const hash = stepped ? await createResumableSha256(resume?.at.sha256State) : undefined;
  const scan = stepped ? undefined : await WriteScan.open(deps.scan);
  const stream = encodeStream(scan ? scan.through(body) : body, {
    codec,
    segmentSize: vault.segmentSize,
    name,
    allocate: allocateSlice,
    ...(hash ? { hash } : {}),
    ...(resume ? { from: { segment: resume.at.segment, size: resume.at.size } } : {}),
  });
  const inFlight = new Set<Promise<void>>();
  let sent = resume?.at.size ?? 0;
  const dispatch = async (segment: EncodedSegment) => {
    sent += segment.length;
    const p = sendSegment(segment.index, segment.slices).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= SEGMENTS_IN_FLIGHT) await Promise.race(inFlight);
  };
  let summary: StreamSummary | undefined;
  /** The count, size, digest and verdict went into the pending record itself. */
  let wholeAtOnce = false;
  let paused: Required<WritePoint> | undefined;
  try {
    let dueAt: number;
    let step: IteratorResult<EncodedSegment, StreamSummary>;
    if (resume) {
      dueAt = resume.record.dueAt ?? deps.clock.now() + deps.pendingTimeoutMs;
      step = await stream.next();
    } else {
      // Nothing is placed before the pending record exists (the janitor's hold on the slices),
      // and every stream has a segment 0 (an empty body is one empty segment), opened with it.
      // The step after segment 0 is read first: a body of one segment (every object up to the
      // vault's segment size) is then wholly known before its revision is recorded, and its
      // count, size, digest and scan verdict go into the pending record, not into a second write.
      const first = await stream.next();
      if (first.done) throw new Error('the encoder ended a stream without its segment 0');
      const second = await stream.next();
      wholeAtOnce = second.done === true;
      const scanned = second.done ? await scan?.verdict() : undefined;
      dueAt = deps.clock.now() + deps.pendingTimeoutMs;
      await Promise.all([
        deps.ledger.createPending(
          second.done ? { ...record, ...second.value, ...(scanned ? { scanned } : {}) } : record,
          dueAt,
        ),
        deps.ledger.openSegment(revision, 0, judge),
      ]);
      // Claimed once recorded, never before: a claimed revision the ledger does not know is
      // one whose writer died before anything was placed, so another may begin again.
      if (opts.claim && !(await opts.claim(revision))) {
        await stream.return(undefined as never);
        await deps.ledger.fail(revision, UNCLAIMED, deps.clock.now());
        return { state: 'unclaimed', key, revision };
      }
      await dispatch(first.value);
      step = second;
    }
    while (!step.done) {
      // A stream longer than half the pending timeout moves its revision's due time on, as a
      // client's dispersal does: the janitor fails writes that stopped, not long ones.
      const next = extendedDueAt(now.getTime(), dueAt, deps.clock.now(), deps.pendingTimeoutMs);
      if (next !== undefined) {
        dueAt = next;
        await deps.ledger.extendPending(revision, dueAt);
      }
      await dispatch(step.value);
      // Asked after a segment of this step went and before the next is read: the hash then
      // holds exactly the bytes sent, and every step makes progress.
      if (hash && opts.stopBefore?.(sent)) {
        paused = { segment: step.value.index + 1, size: sent, sha256State: hash.save() };
        break;
      }
      step = await stream.next();
    }
    if (step.done) summary = step.value;
  } finally {
    if (!summary) scan?.abort();
  }
  if (paused) {
    // Every segment sent is placed and its message out before the next step may begin.
    await Promise.all(inFlight);
    await stream.return(undefined as never);
    return { state: 'paused', key, revision, at: paused };
  }
  if (!summary) throw new Error('a write ended with neither a summary nor a stop');
  if (wholeAtOnce) {
    // The count was there before any message went out: every status finds it.
    await Promise.all(inFlight);
  } else {
    const scanned = await scan?.verdict();
    // The count is known once the stream ends: record it (and the scan's verdict) while the
    // last segments still travel.
    const [finished] = await Promise.all([
      deps.ledger.finishWriting(revision, { ...summary, ...(scanned ? { scanned } : {}) }),
      Promise.all(inFlight),
    ]);
    // Statuses may all be in before the count was recorded: then no status is left to make the
    // committer look again, and the writer asks it to (the commit stays the committer's).
    if (finished.state === 'pending' && finished.doneSegments >= summary.segments)
      await deps.multicast.nudge(vault.address, revision);
  }
  return waitForOutcome(deps, key, revision, opts.waitMs, {
    ...(opts.precondition ? { precondition: opts.precondition } : {}),
    written: { vault: vault.name, size: summary.size },
  });
}

/**
 * The ledger's items as the domain reads them: a revision's `meta` item as its record, and a
 * segment's tally item after a status's votes. The DynamoDB ledger and the tests' memory ledger
 * read items through these alike.
 */
import type {
  ObjectAttributes,
  Precondition,
  RevisionRecord,
  RevisionState,
  SegmentTally,
  SegmentVotes,
  WrittenScan,
} from '../../store/index.ts';

/**
 * A segment's tally after `votes`, from its item before them (exported so test fakes count
 * alike): the judge is the item's, the sets its own with the votes added.
 */
export function tallyAfter(
  before: Record<string, unknown>,
  votes: Pick<SegmentVotes, 'favorable' | 'unfavorable'>,
): Omit<SegmentTally, 'vault'> {
  const setOf = (v: unknown) => new Set(v instanceof Set ? [...v].map(String) : []);
  const favorable = setOf(before.favorable);
  const unfavorable = setOf(before.unfavorable);
  const repeated =
    votes.favorable.some((p) => favorable.has(String(p))) ||
    votes.unfavorable.some((p) => unfavorable.has(String(p)));
  const favorableBefore = favorable.size;
  for (const p of votes.favorable) favorable.add(String(p));
  for (const p of votes.unfavorable) unfavorable.add(String(p));
  return {
    width: Number(before.width),
    writeThreshold: Number(before.writeThreshold),
    favorable: favorable.size,
    unfavorable: unfavorable.size,
    favorableBefore,
    repeated,
  };
}

/** A revision's meta item as the domain reads it (exported so test fakes read items alike). */
export function toRecord(item: Record<string, unknown>): RevisionRecord {
  const set = (v: unknown) => (v instanceof Set ? [...v] : []);
  // Only segments the revision has count: a done mark for any other (a bogus status's) must
  // never make up for a real segment still short of T.
  const done = set(item.doneSegments)
    .map(Number)
    .filter((s) => item.segments === undefined || s < Number(item.segments));
  return {
    revision: String(item.revision),
    vault: String(item.vault),
    key: String(item.key),
    objectId: String(item.objectId),
    state: item.state as RevisionState,
    segments: item.segments === undefined ? undefined : Number(item.segments),
    size: item.size === undefined ? undefined : Number(item.size),
    sha256: item.sha256 === undefined ? undefined : String(item.sha256),
    segmentSize: Number(item.segmentSize),
    readThreshold: Number(item.readThreshold),
    writeThreshold: Number(item.writeThreshold),
    units: (item.units as unknown[]).map(Number),
    ...(item.topology === undefined ? {} : { topology: String(item.topology) }),
    ...(item.openToken === undefined ? {} : { openToken: String(item.openToken) }),
    ...(item.clientPlaced === true ? { clientPlaced: true } : {}),
    ...(item.resweep === true ? { resweep: true } : {}),
    doneSegments: done.length,
    ...(item.state === 'pending' && done.length > 0
      ? { segmentsDone: [...done].sort((a, b) => a - b) }
      : {}),
    failedUnits: set(item.failedUnits)
      .map(Number)
      .sort((a, b) => a - b),
    createdAt: String(item.createdAt),
    committedAt: item.committedAt === undefined ? undefined : String(item.committedAt),
    reason: item.reason === undefined ? undefined : String(item.reason),
    tasksDone: item.tasksDone === true,
    ...(item.dueAt === undefined ? {} : { dueAt: Number(item.dueAt) }),
    // Present only when written, as records written before them read.
    ...(item.attributes === undefined ? {} : { attributes: item.attributes as ObjectAttributes }),
    ...(item.precondition === undefined ? {} : { precondition: item.precondition as Precondition }),
    ...(item.refused === undefined ? {} : { refused: String(item.refused) }),
    ...(item.writer === undefined ? {} : { writer: String(item.writer) }),
    ...(item.scanned === undefined ? {} : { scanned: item.scanned as WrittenScan }),
    ...(item.dispersing === undefined ? {} : { dispersing: String(item.dispersing) }),
  };
}

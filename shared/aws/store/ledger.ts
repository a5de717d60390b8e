/**
 * Ledger on DynamoDB. One table, keyed by revision: a `meta` item per revision and a `seg#N`
 * tally item per segment, opened by the writer with the segment's judge (vault, width, T) so a
 * status is counted and judged in one conditional write. Tallies and done-segment lists are
 * sets (ADD is idempotent); state flips are conditional writes. Revisions due for cleanup
 * carry `janitor = "due"` and a `dueAt`, which a sparse index (`due`) lists in time order.
 *
 * No transactions: dynalite, the default local DynamoDB, does not implement them.
 */
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  dispersingKey,
  type Ledger,
  type RevisionRecord,
  type SegmentJudge,
  type SegmentTally,
  type SegmentVotes,
  type WrittenScan,
} from '../../store/index.ts';
import { conditional, ifCondition } from '../conditional.ts';
import { tallyAfter, toRecord } from './ledger-items.ts';

const META = 'meta';
const JUDGE_NAMES = { '#vault': 'vault', '#width': 'width', '#t': 'writeThreshold' };
const DUE = 'due';

export class DynamoLedger implements Ledger {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async createPending(record: RevisionRecord, dueAt: number): Promise<void> {
    const { doneSegments: _done, failedUnits: _failed, ...rest } = record;
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...rest, part: META, janitor: DUE, dueAt },
        ConditionExpression: 'attribute_not_exists(revision)',
      }),
    );
  }

  async get(revision: string): Promise<RevisionRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { revision, part: META },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async openSegment(
    revision: string,
    segment: number,
    judge: SegmentJudge,
    crc32?: string[],
  ): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { revision, part: `seg#${segment}` },
        UpdateExpression: `SET #vault = :vault, #width = :width, #t = :t${crc32 ? ', crc32 = :crc' : ''}`,
        ExpressionAttributeNames: JUDGE_NAMES,
        ExpressionAttributeValues: {
          ':vault': judge.vault,
          ':width': judge.width,
          ':t': judge.writeThreshold,
          ...(crc32 ? { ':crc': crc32 } : {}),
        },
      }),
    );
  }

  async announcedChecksums(revision: string): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    const pages = paginateQuery(
      { client: this.db },
      {
        TableName: this.table,
        KeyConditionExpression: 'revision = :r AND begins_with(part, :seg)',
        ExpressionAttributeValues: { ':r': revision, ':seg': 'seg#' },
        ProjectionExpression: 'part, crc32',
      },
    );
    for await (const page of pages)
      for (const item of page.Items ?? [])
        if (Array.isArray(item.crc32))
          out.set(Number(String(item.part).slice(4)), (item.crc32 as unknown[]).map(String));
    return out;
  }

  async tally(
    revision: string,
    segment: number,
    votes: SegmentVotes,
  ): Promise<SegmentTally | undefined> {
    const adds: string[] = [];
    const values: Record<string, unknown> = { ':vault': votes.vault };
    if (votes.favorable.length === 0 && votes.unfavorable.length === 0)
      throw new RangeError('tally needs at least one favorable or unfavorable pillar');
    if (votes.favorable.length > 0) {
      adds.push('favorable :f');
      values[':f'] = new Set(votes.favorable.map(String));
    }
    if (votes.unfavorable.length > 0) {
      adds.push('unfavorable :u');
      values[':u'] = new Set(votes.unfavorable.map(String));
    }
    const out = await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { revision, part: `seg#${segment}` },
          UpdateExpression: `ADD ${adds.join(', ')}`,
          // Only an open segment counts: a purged revision's late status must not recreate it.
          ConditionExpression: 'attribute_exists(revision) AND #vault = :vault',
          ExpressionAttributeNames: { '#vault': 'vault' },
          ExpressionAttributeValues: values,
          // The item before: the sets after are these and the vote, and the committer learns
          // whether this vote brought the segment to T or found it there (committer.ts).
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    if (!out) return undefined;
    if (votes.failedUnits.length > 0) {
      await conditional(
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { revision, part: META },
            UpdateExpression: 'ADD failedUnits :units',
            ConditionExpression: 'attribute_exists(revision)',
            ExpressionAttributeValues: { ':units': new Set(votes.failedUnits) },
          }),
        ),
      );
    }
    const item = out.Attributes ?? {};
    return { vault: String(item.vault), ...tallyAfter(item, votes) };
  }

  async markSegmentsDone(
    revision: string,
    segments: number[],
  ): Promise<RevisionRecord | undefined> {
    const out = await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { revision, part: META },
          UpdateExpression: 'ADD doneSegments :segs',
          ConditionExpression: 'attribute_exists(revision)',
          ExpressionAttributeValues: { ':segs': new Set(segments.map(String)) },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out && toRecord(out.Attributes ?? {});
  }

  async finishWriting(
    revision: string,
    info: { segments: number; size: number; sha256: string; scanned?: WrittenScan },
  ): Promise<RevisionRecord> {
    // The writer's scan goes in with the segment count: a commit, which needs the count, always
    // finds it there.
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { revision, part: META },
        UpdateExpression: `SET #segments = :segments, #size = :size, sha256 = :sha256${info.scanned ? ', scanned = :scanned' : ''}`,
        ConditionExpression: 'attribute_exists(revision)',
        ExpressionAttributeNames: { '#size': 'size', '#segments': 'segments' },
        ExpressionAttributeValues: {
          ':segments': info.segments,
          ':size': info.size,
          ':sha256': info.sha256,
          ...(info.scanned ? { ':scanned': info.scanned } : {}),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toRecord(out.Attributes ?? {});
  }

  async commitWhole(
    revision: string,
    segments: number,
    at: Date,
  ): Promise<RevisionRecord | undefined> {
    const out = await ifCondition(this.db.send(this.commitUpdate(revision, segments, at, true)));
    return out && toRecord(out.Attributes ?? {});
  }

  commit(revision: string, segments: number, at: Date): Promise<boolean> {
    return conditional(this.db.send(this.commitUpdate(revision, segments, at, false)));
  }

  /**
   * The commit: pending to committed at `at`, off the janitor's list, when the revision counts
   * `segments`. With `markAll`, segments `0..segments-1` are marked done in the same write and
   * the record afterwards comes back; without, they must all be marked already.
   */
  private commitUpdate(revision: string, segments: number, at: Date, markAll: boolean) {
    return new UpdateCommand({
      TableName: this.table,
      Key: { revision, part: META },
      UpdateExpression: `${markAll ? 'ADD doneSegments :segs ' : ''}SET #state = :committed, committedAt = :at REMOVE janitor, dueAt, dispersing`,
      ConditionExpression: `#state = :pending AND #segments = :segments${markAll ? '' : ' AND size(doneSegments) >= :segments'}`,
      ExpressionAttributeNames: { '#state': 'state', '#segments': 'segments' },
      ExpressionAttributeValues: {
        ':committed': 'committed',
        ':pending': 'pending',
        ':at': at.toISOString(),
        ':segments': segments,
        ...(markAll
          ? { ':segs': new Set(Array.from({ length: segments }, (_, i) => String(i))) }
          : {}),
      },
      ...(markAll ? { ReturnValues: 'ALL_NEW' as const } : {}),
    });
  }

  fail(revision: string, reason: string, dueAt: number, ifDueBy?: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { revision, part: META },
          UpdateExpression:
            'SET #state = :failed, #reason = :reason, janitor = :due, dueAt = :dueAt REMOVE dispersing',
          ConditionExpression:
            ifDueBy === undefined ? '#state = :pending' : '#state = :pending AND dueAt <= :by',
          ExpressionAttributeNames: { '#state': 'state', '#reason': 'reason' },
          ExpressionAttributeValues: {
            ':failed': 'failed',
            ':pending': 'pending',
            ':reason': reason,
            ':due': DUE,
            ':dueAt': dueAt,
            ...(ifDueBy === undefined ? {} : { ':by': ifDueBy }),
          },
        }),
      ),
    );
  }

  extendPending(revision: string, dueAt: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { revision, part: META },
          UpdateExpression: 'SET dueAt = :dueAt',
          ConditionExpression: '#state = :pending AND dueAt < :dueAt',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':pending': 'pending', ':dueAt': dueAt },
        }),
      ),
    );
  }

  async markTasksDone(revision: string): Promise<void> {
    // Only on a revision still recorded: a committer late after the janitor purged it must not
    // leave a bare item behind (an UpdateItem on no item creates one).
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { revision, part: META },
          UpdateExpression: 'SET tasksDone = :true',
          ConditionExpression: 'attribute_exists(revision)',
          ExpressionAttributeValues: { ':true': true },
        }),
      ),
    );
  }

  async retire(revision: string, dueAt: number, refused?: string): Promise<void> {
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { revision, part: META },
          UpdateExpression: `SET #state = :garbage, janitor = :due, dueAt = :dueAt${refused ? ', refused = :refused' : ''}`,
          ConditionExpression: '#state = :committed',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':garbage': 'garbage',
            ':committed': 'committed',
            ':due': DUE,
            ':dueAt': dueAt,
            ...(refused ? { ':refused': refused } : {}),
          },
        }),
      ),
    );
  }

  async resweepAt(revision: string, dueAt: number): Promise<void> {
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { revision, part: META },
          UpdateExpression: 'SET janitor = :due, dueAt = :dueAt, resweep = :true',
          ConditionExpression: '#state = :failed',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':due': DUE,
            ':dueAt': dueAt,
            ':true': true,
            ':failed': 'failed',
          },
        }),
      ),
    );
  }

  async due(now: number, limit: number): Promise<RevisionRecord[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'due',
        KeyConditionExpression: 'janitor = :due AND dueAt <= :now',
        ExpressionAttributeValues: { ':due': DUE, ':now': now },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(toRecord);
  }

  async pendingDispersals(
    vault: string,
    writer: string | undefined,
    page: { limit: number; after?: string },
  ): Promise<{ records: RevisionRecord[]; more: boolean }> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'dispersing',
        KeyConditionExpression:
          page.after === undefined ? 'dispersing = :d' : 'dispersing = :d AND revision > :after',
        ExpressionAttributeValues: {
          ':d': dispersingKey(vault, writer),
          ...(page.after === undefined ? {} : { ':after': page.after }),
        },
        Limit: page.limit,
      }),
    );
    return {
      records: (out.Items ?? []).map(toRecord),
      more: out.LastEvaluatedKey !== undefined,
    };
  }

  async purged(revision: string): Promise<void> {
    const keys: Array<{ revision: string; part: string }> = [];
    const pages = paginateQuery(
      { client: this.db },
      {
        TableName: this.table,
        KeyConditionExpression: 'revision = :r',
        ExpressionAttributeValues: { ':r': revision },
        ProjectionExpression: 'revision, part',
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) keys.push({ revision, part: String(item.part) });
    }
    // The meta item goes last, so a crash part-way leaves the revision listed as due.
    keys.sort((a, b) => (a.part === META ? 1 : 0) - (b.part === META ? 1 : 0));
    for (let i = 0; i < keys.length; i += 25) {
      let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      while (requests.length > 0) {
        const out = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.table]: requests } }),
        );
        requests = (out.UnprocessedItems?.[this.table] ?? []) as typeof requests;
      }
    }
  }
}

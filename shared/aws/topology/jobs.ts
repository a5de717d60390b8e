/**
 * Topology jobs on the control table (`topology-job/<vault>`: the vault's latest job, its id and
 * its lease), their trigger on the topology queue, and manifests moved by a replacement (the
 * index entry, while the key names the revision, and the revision's record).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { IndexEntry } from '../../store/index.ts';
import type {
  ManifestStore,
  TopologyJob,
  TopologyJobStore,
  TopologyJobTrigger,
} from '../../topology/index.ts';
import { conditional } from '../conditional.ts';
import { leaseJob, saveLeasedJob } from '../job-lease.ts';

const idOf = (vault: string) => `topology-job/${vault}`;

export class DynamoTopologyJobStore implements TopologyJobStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async get(vault: string): Promise<TopologyJob | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { id: idOf(vault) }, ConsistentRead: true }),
    );
    const job = out.Item?.job as TopologyJob | undefined;
    // The count lives beside the job, where a holder's save of the job does not reach it.
    if (job && out.Item?.lateWrites !== undefined && out.Item.jobId === job.id)
      job.lateWrites = Number(out.Item.lateWrites);
    return job;
  }

  async noteLateWrite(vault: string, id: string): Promise<void> {
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: idOf(vault) },
          UpdateExpression: 'ADD lateWrites :one',
          ConditionExpression: 'jobId = :id',
          ExpressionAttributeValues: { ':id': id, ':one': 1 },
        }),
      ),
    );
  }

  reopen(vault: string, id: string): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: idOf(vault) },
          UpdateExpression: 'SET #state = :running',
          // The job itself says done (the top-level state may say running already: a reopen
          // whose step never came is asked again).
          ConditionExpression: 'jobId = :id AND #job.#state = :done AND lateWrites > #job.#seen',
          ExpressionAttributeNames: {
            '#state': 'state',
            '#job': 'job',
            '#seen': 'seenLateWrites',
          },
          ExpressionAttributeValues: { ':id': id, ':done': 'done', ':running': 'running' },
        }),
      ),
    );
  }

  async start(job: TopologyJob): Promise<TopologyJob> {
    // The same job (a redelivered vote) is started once; a newer topology's job replaces it,
    // and an older one's (a vote delivered late) never does.
    await conditional(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { id: idOf(job.vault), jobId: job.id, state: job.state, job },
          ConditionExpression:
            'attribute_not_exists(id) OR (jobId <> :id AND #job.#since < :since)',
          ExpressionAttributeNames: { '#job': 'job', '#since': 'since' },
          ExpressionAttributeValues: { ':id': job.id, ':since': job.since },
        }),
      ),
    );
    return (await this.get(job.vault)) ?? job;
  }

  lease(vault: string, id: string, holder: string, until: number, now: number): Promise<boolean> {
    return leaseJob(this.db, this.table, idOf(vault), { jobId: id, holder, until, now });
  }

  save(job: TopologyJob, holder: string, until: number | 'release'): Promise<boolean> {
    return saveLeasedJob(
      this.db,
      this.table,
      idOf(job.vault),
      job,
      holder,
      until === 'release' ? { release: true } : { release: false, until },
    );
  }
}

export class SqsTopologyJobTrigger implements TopologyJobTrigger {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
  }

  async continue(vault: string, id: string): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({ vault, id }),
      }),
    );
  }
}

export class DynamoManifestStore implements ManifestStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly objectsTable: string;
  private readonly revisionsTable: string;

  constructor(db: DynamoDBDocumentClient, objectsTable: string, revisionsTable: string) {
    this.db = db;
    this.objectsTable = objectsTable;
    this.revisionsTable = revisionsTable;
  }

  async relocate(entry: IndexEntry, units: number[]): Promise<boolean | 'stale'> {
    const placed = unitsAsRead(entry.units, units);
    // The record first: the janitor deletes a revision's slices where its record says they are.
    // A record on other units than read or moved to had another relocation meanwhile: the
    // index is left as that one made it.
    const recorded = await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.revisionsTable,
          Key: { revision: entry.revision, part: 'meta' },
          UpdateExpression: 'SET units = :units',
          ConditionExpression: `attribute_exists(revision) AND ${placed.condition}`,
          ExpressionAttributeValues: { ':units': units, ...placed.values },
        }),
      ),
    );
    if (!recorded) {
      const record = await this.db.send(
        new GetCommand({
          TableName: this.revisionsTable,
          Key: { revision: entry.revision, part: 'meta' },
          ProjectionExpression: 'revision',
          ConsistentRead: true,
        }),
      );
      // No record (purged, the revision gone): the index decides, as before; else stale.
      if (record.Item) return 'stale';
    }
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.objectsTable,
          Key: { vault: entry.vault, key: entry.key },
          UpdateExpression: 'SET units = :units',
          // Only while the key names this revision (a newer one has its own units), on the
          // units the mover read.
          ConditionExpression: `revision = :r AND deleted = :false AND ${placed.condition}`,
          ExpressionAttributeValues: {
            ':units': units,
            ':r': entry.revision,
            ':false': false,
            ...placed.values,
          },
        }),
      ),
    );
  }
}

/**
 * A condition that the item's `units` are still those the mover read (`before`), pillar by
 * pillar, or already where it moves them (`after`: another holder's same relocation). Another
 * relocation in between (a newer topology's job) fails it, so a stale view never points the
 * manifest back at units that job moved the object off. Compared element by element: list
 * equality in a condition is DynamoDB's, but dynalite compares lists by reference.
 */
export function unitsAsRead(
  before: readonly number[],
  after: readonly number[],
): { condition: string; values: Record<string, number> } {
  const values: Record<string, number> = { ':width': before.length };
  const parts = before.map((unit, i) => {
    values[`:b${i}`] = unit;
    if (after[i] === unit) return `units[${i}] = :b${i}`;
    values[`:a${i}`] = after[i] as number;
    return `(units[${i}] = :b${i} OR units[${i}] = :a${i})`;
  });
  return { condition: ['size(units) = :width', ...parts].join(' AND '), values };
}

/**
 * The replication log (ports.ts `ReplicationLog`) on its DynamoDB table, its items laid out as
 * log-items.ts says. Statuses are applied as conditional updates of the task item, so
 * each is idempotent and their order does not matter (the comment on each says why).
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  ReplicationJob,
  ReplicationLog,
  ReplicationRule,
  ReplicationTask,
  StatusApplied,
  TaskPage,
  TaskStatus,
} from '../../replication/index.ts';
import { BATCH_WRITE_LIMIT, batchWriteAll } from '../batch-write.ts';
import { conditional, ifCondition } from '../conditional.ts';
import {
  decodeCursor,
  decodeOpenCursor,
  encodeCursor,
  jobKey,
  jobOf,
  OPEN_INDEX,
  ruleKey,
  taskItem,
  taskKey,
  taskOf,
} from './log-items.ts';
import { applyStatusWrites } from './status-writes.ts';

/** Tasks written at once. */
const PUT_CONCURRENCY = 16;

export class DynamoReplicationLog implements ReplicationLog {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async createJob(job: ReplicationJob): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.table, Item: { ...jobKey(job.id), ...job } }),
    );
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: 'jobs', sk: job.id, startedAt: job.startedAt },
      }),
    );
  }

  async getJob(id: string): Promise<ReplicationJob | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: jobKey(id), ConsistentRead: true }),
    );
    return out.Item ? jobOf(out.Item) : undefined;
  }

  async updateJob(
    id: string,
    fields: Partial<ReplicationJob>,
    from?: ReplicationJob['state'][],
  ): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    for (const [i, [k, v]] of Object.entries(fields).entries()) {
      names[`#f${i}`] = k;
      if (v === undefined) removes.push(`#f${i}`);
      else {
        values[`:f${i}`] = v;
        sets.push(`#f${i} = :f${i}`);
      }
    }
    let condition = 'attribute_exists(pk)';
    if (from) {
      names['#state'] = 'state';
      from.forEach((s, i) => {
        values[`:from${i}`] = s;
      });
      condition += ` AND #state IN (${from.map((_, i) => `:from${i}`).join(', ')})`;
    }
    const update = [
      sets.length ? `SET ${sets.join(', ')}` : '',
      removes.length ? `REMOVE ${removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: jobKey(id),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
        }),
      ),
    );
  }

  async countJob(id: string, field: 'migrations'): Promise<ReplicationJob | undefined> {
    const out = await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: jobKey(id),
          UpdateExpression: `ADD ${field} :one`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out?.Attributes ? jobOf(out.Attributes) : undefined;
  }

  async openRound(id: string, from: number): Promise<ReplicationJob | undefined> {
    const out = await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: jobKey(id),
          // A restart opens a new round: tasks sent in earlier rounds and unfinished go again.
          // On the round it was asked from only, so a retry of it opens none more.
          UpdateExpression: 'SET round = :next ADD restarts :one',
          ConditionExpression: 'attribute_exists(pk) AND round = :from',
          ExpressionAttributeValues: { ':one': 1, ':from': from, ':next': from + 1 },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    if (out?.Attributes) return jobOf(out.Attributes);
    const job = await this.getJob(id);
    return job && job.round > from ? job : undefined;
  }

  async listJobs(limit: number, cursor?: string) {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :jobs',
        ExpressionAttributeValues: { ':jobs': 'jobs' },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor, 'jobs'),
      }),
    );
    const jobs = await Promise.all((out.Items ?? []).map((i) => this.getJob(String(i.sk))));
    return {
      jobs: jobs.filter((j): j is ReplicationJob => j !== undefined),
      cursor: encodeCursor(out.LastEvaluatedKey),
    };
  }

  async getRule(vault: string): Promise<ReplicationRule | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: ruleKey(vault),
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, ...rule } = out.Item;
    return rule as ReplicationRule;
  }

  async putRule(rule: ReplicationRule): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...ruleKey(rule.vault), ...rule },
      }),
    );
  }

  async removeRule(vault: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: ruleKey(vault) }));
  }

  async putTasks(tasks: ReplicationTask[], opts?: { overwrite: boolean }): Promise<void> {
    if (opts?.overwrite) {
      await Promise.all(
        Array.from({ length: Math.ceil(tasks.length / BATCH_WRITE_LIMIT) }, (_, b) =>
          batchWriteAll(
            this.db,
            this.table,
            tasks
              .slice(b * BATCH_WRITE_LIMIT, (b + 1) * BATCH_WRITE_LIMIT)
              .map((task) => ({ PutRequest: { Item: taskItem(task) } })),
          ),
        ),
      );
      return;
    }
    const queue = [...tasks];
    const one = async () => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        const task = t;
        // Planned again (a redriven plan): the task there may be under way; leave it.
        await conditional(
          this.db.send(
            new PutCommand({
              TableName: this.table,
              Item: taskItem(task),
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          ),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUT_CONCURRENCY, tasks.length) }, one));
  }

  async getTask(jobId: string, taskId: string): Promise<ReplicationTask | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: taskKey(jobId, taskId), ConsistentRead: true }),
    );
    return out.Item ? taskOf(out.Item) : undefined;
  }

  async tasks(jobId: string, limit: number, cursor?: string): Promise<TaskPage> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :task)',
        ExpressionAttributeValues: { ':pk': `job/${jobId}`, ':task': 'task/' },
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor, `job/${jobId}`, 'task/'),
      }),
    );
    return { tasks: (out.Items ?? []).map(taskOf), cursor: encodeCursor(out.LastEvaluatedKey) };
  }

  async openTasks(jobId: string, limit: number, cursor?: string): Promise<TaskPage> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: OPEN_INDEX,
        KeyConditionExpression: 'openJob = :job AND begins_with(sk, :task)',
        ExpressionAttributeValues: { ':job': jobId, ':task': 'task/' },
        Limit: limit,
        ExclusiveStartKey: decodeOpenCursor(cursor, jobId),
      }),
    );
    return { tasks: (out.Items ?? []).map(taskOf), cursor: encodeCursor(out.LastEvaluatedKey) };
  }

  async markDispatched(
    task: Pick<ReplicationTask, 'jobId' | 'id' | 'attempts'>,
    f: {
      attempt: number;
      round: number;
      worker: number;
      keepSource: boolean;
      onlyQueued?: boolean;
    },
  ): Promise<boolean> {
    // A mark applied whose answer was lost is sent again by the SDK and then refused: the
    // dispatch id it wrote tells that refusal from another dispatcher's win.
    const dispatchId = randomUUID();
    const marked = await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: taskKey(task.jobId, task.id),
          UpdateExpression: `SET attempts = :next, round = :round, #state = :queued, destinationWorker = :w, dispatchId = :dispatch, sourceWorker = ${
            f.keepSource ? 'if_not_exists(sourceWorker, :w)' : ':w'
          } REMOVE migrateTo, #error`,
          // Another dispatch of the same attempt got there first, or a late `done` finished it;
          // a move also loses to the worker that claimed the task (claimTask).
          ConditionExpression: `attempts = :prev AND #state <> :done${f.onlyQueued ? ' AND #state = :queued' : ''}`,
          ExpressionAttributeNames: { '#state': 'state', '#error': 'error' },
          ExpressionAttributeValues: {
            ':next': f.attempt,
            ':prev': f.attempt - 1,
            ':round': f.round,
            ':queued': 'queued',
            ':w': f.worker,
            ':done': 'done',
            ':dispatch': dispatchId,
          },
        }),
      ),
    );
    if (marked) return true;
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: taskKey(task.jobId, task.id),
        ConsistentRead: true,
        ProjectionExpression: 'dispatchId',
      }),
    );
    return out.Item?.dispatchId === dispatchId;
  }

  async claimTask(
    jobId: string,
    taskId: string,
    c: { attempt: number; at: number; uploadId?: string },
  ): Promise<ReplicationTask | undefined> {
    const out = await ifCondition(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: taskKey(jobId, taskId),
          UpdateExpression: `SET #state = :running, startedAt = :at${c.uploadId ? ', uploadId = if_not_exists(uploadId, :upload)' : ''}`,
          ConditionExpression: 'attempts = :attempt AND #state IN (:queued, :running)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':queued': 'queued',
            ':attempt': c.attempt,
            ':at': new Date(c.at).toISOString(),
            ...(c.uploadId ? { ':upload': c.uploadId } : {}),
          },
          // The task as claimed: the worker's only read of it before the copy.
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out?.Attributes ? taskOf(out.Attributes) : undefined;
  }

  restartUpload(
    jobId: string,
    taskId: string,
    attempt: number,
    uploadId: string,
  ): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: taskKey(jobId, taskId),
          UpdateExpression:
            'REMOVE uploadId SET etags = :none, partsDone = :zero, bytesCopied = :zero',
          ConditionExpression: 'attempts = :attempt AND uploadId = :upload',
          ExpressionAttributeValues: {
            ':none': {},
            ':zero': 0,
            ':attempt': attempt,
            ':upload': uploadId,
          },
        }),
      ),
    );
  }

  async requestStop(jobId: string, taskId: string, to: number, at: number): Promise<boolean> {
    const asked = await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: taskKey(jobId, taskId),
          UpdateExpression: 'SET #state = :stopping, migrateTo = :to, stopAskedAt = :at',
          ConditionExpression: '#state IN (:queued, :running)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':stopping': 'stopping',
            ':to': to,
            ':at': new Date(at).toISOString(),
            ':queued': 'queued',
            ':running': 'running',
          },
        }),
      ),
    );
    if (asked) return true;
    // A stop applied whose answer was lost, the SDK's retry then refused: this very request.
    const now = await this.getTask(jobId, taskId);
    return (
      now?.state === 'stopping' &&
      now.migrateTo === to &&
      now.stopAskedAt === new Date(at).toISOString()
    );
  }

  async applyStatus(s: TaskStatus, partSize: number): Promise<StatusApplied> {
    const changed = await applyStatusWrites(
      { db: this.db, table: this.table, claimTask: (...a) => this.claimTask(...a) },
      s,
      partSize,
    );
    return typeof changed === 'boolean' ? { changed } : { changed: true, stopped: changed };
  }
}

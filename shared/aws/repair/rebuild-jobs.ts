/**
 * RebuildJobStore on the control table: item `rebuild#<vault>` holds the vault's current job,
 * its id (`jobId`) and its lease (`holder`, `leaseUntil`), so every change is one conditional
 * write on one item.
 */

import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RebuildJob, RebuildJobStore } from '../../repair/index.ts';
import { conditionFailed } from '../conditional.ts';
import { leaseJob, saveLeasedJob } from '../job-lease.ts';

const idOf = (vault: string) => `rebuild#${vault}`;

export class DynamoRebuildJobStore implements RebuildJobStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.db = db;
    this.table = table;
  }

  async get(vault: string): Promise<RebuildJob | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { id: idOf(vault) }, ConsistentRead: true }),
    );
    return out.Item?.job as RebuildJob | undefined;
  }

  async start(job: RebuildJob, restart: boolean): Promise<RebuildJob> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { id: idOf(job.vault), jobId: job.id, state: job.state, job },
          ...(restart
            ? {}
            : {
                ConditionExpression: 'attribute_not_exists(id) OR #state = :done',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':done': 'done' },
              }),
        }),
      );
      return job;
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      const running = await this.get(job.vault);
      // Finished between the write and the read: start again.
      return running ?? this.start(job, restart);
    }
  }

  lease(vault: string, id: string, holder: string, until: number, now: number): Promise<boolean> {
    return leaseJob(this.db, this.table, idOf(vault), { jobId: id, holder, until, now });
  }

  save(job: RebuildJob, holder: string, release = false): Promise<boolean> {
    return saveLeasedJob(this.db, this.table, idOf(job.vault), job, holder, { release });
  }
}

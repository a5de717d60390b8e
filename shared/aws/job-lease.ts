/**
 * A resumable job kept as one control-table item (`{id, jobId, state, job, holder?,
 * leaseUntil?}`): the rebuild jobs and the topology jobs. One invocation at a time works on it,
 * holding a lease; only the holder saves it, and a release ends the lease.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditional } from './conditional.ts';

/** Takes job `jobId`'s lease on item `id` until `until`, if it is running and not held now. */
export function leaseJob(
  db: DynamoDBDocumentClient,
  table: string,
  id: string,
  lease: { jobId: string; holder: string; until: number; now: number },
): Promise<boolean> {
  return conditional(
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id },
        UpdateExpression: 'SET holder = :holder, leaseUntil = :until',
        ConditionExpression:
          'jobId = :id AND #state = :running AND (attribute_not_exists(holder) OR leaseUntil < :now)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':holder': lease.holder,
          ':until': lease.until,
          ':id': lease.jobId,
          ':running': 'running',
          ':now': lease.now,
        },
      }),
    ),
  );
}

/**
 * Saves `job` as its lease holder: false when another holder took the lease. `release` ends the
 * lease; `until` extends it.
 */
export function saveLeasedJob(
  db: DynamoDBDocumentClient,
  table: string,
  id: string,
  job: { id: string; state: string },
  holder: string,
  after: { release: true } | { release: false; until?: number },
): Promise<boolean> {
  const extend = !after.release && after.until !== undefined;
  return conditional(
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id },
        UpdateExpression: after.release
          ? 'SET job = :job, #state = :state REMOVE holder, leaseUntil'
          : extend
            ? 'SET job = :job, #state = :state, leaseUntil = :until'
            : 'SET job = :job, #state = :state',
        ConditionExpression: 'jobId = :id AND holder = :holder',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':job': job,
          ':state': job.state,
          ':id': job.id,
          ':holder': holder,
          ...(extend ? { ':until': (after as { until: number }).until } : {}),
        },
      }),
    ),
  );
}

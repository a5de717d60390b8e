/**
 * The writes that apply one worker status to a task in the replication log (DynamoDB), each
 * conditional, so a status applied twice or out of order changes nothing more
 * (ports.ts `applyStatus`). A stop's own write returns the task as it left it.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ReplicationLog, ReplicationTask, TaskStatus } from '../../replication/index.ts';
import { conditional, ifCondition } from '../conditional.ts';
import { taskKey, taskOf } from './log-items.ts';

export interface StatusWriteDeps {
  db: DynamoDBDocumentClient;
  table: string;
  /** A `started` status is the claim's own write. */
  claimTask: ReplicationLog['claimTask'];
}

/** The writes of one status: whether they changed the log, or the task a stop left. */
export async function applyStatusWrites(
  log: StatusWriteDeps,
  s: TaskStatus,
  partSize: number,
): Promise<boolean | ReplicationTask> {
  const key = taskKey(s.jobId, s.taskId);
  const command = (
    expression: string,
    condition: string,
    values: Record<string, unknown>,
    names: Record<string, string>,
  ) =>
    new UpdateCommand({
      TableName: log.table,
      Key: key,
      UpdateExpression: expression,
      ConditionExpression: `attribute_exists(pk) AND ${condition}`,
      ExpressionAttributeNames: { '#state': 'state', ...names },
      ExpressionAttributeValues: values,
    });
  const update = (
    expression: string,
    condition: string,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ) => conditional(log.db.send(command(expression, condition, values, names)));
  // A stop's own write returns the task as it left it: the remainder is sent from that.
  const stop = async (
    expression: string,
    condition: string,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ) => {
    const c = command(expression, condition, values, names);
    c.input.ReturnValues = 'ALL_NEW';
    const out = await ifCondition(log.db.send(c));
    return out?.Attributes ? taskOf(out.Attributes) : false;
  };
  // The checkpoint of parts 1..part: the ETag of the part under its number (setting it again
  // sets the same value), then partsDone raised to `part` if lower (never lowered, whatever
  // order the statuses come in). Only for the upload the log knows, if it knows one.
  const checkpoint = async (part: number, etag: string | undefined, uploadId: string) => {
    let changed = false;
    if (etag !== undefined)
      changed = await update(
        'SET etags.#part = :etag, uploadId = :upload',
        '#state <> :done AND (attribute_not_exists(uploadId) OR uploadId = :upload)',
        { ':etag': etag, ':upload': uploadId, ':done': 'done' },
        { '#part': String(part) },
      );
    const raised = await update(
      'SET partsDone = :part, bytesCopied = :bytes, checkpointAt = :at',
      '#state <> :done AND partsDone < :part AND uploadId = :upload',
      {
        ':part': part,
        ':at': new Date(s.at).toISOString(),
        ':bytes': Math.min(part * partSize, Number.MAX_SAFE_INTEGER),
        ':upload': uploadId,
        ':done': 'done',
      },
    );
    return changed || raised;
  };
  const ofThisAttempt = 'attempts = :attempt AND #state IN (:queued, :running, :stopping)';
  const live = {
    ':attempt': s.attempt,
    ':queued': 'queued',
    ':running': 'running',
    ':stopping': 'stopping',
  };
  switch (s.type) {
    case 'started':
      // From workers that sent `started` before claims: the claim's own update, so a late
      // `started` never reopens a task (the claim's condition excludes `stopping` too).
      return (
        (await log.claimTask(s.jobId, s.taskId, {
          attempt: s.attempt,
          at: s.at,
          ...(s.uploadId ? { uploadId: s.uploadId } : {}),
        })) !== undefined
      );
    case 'part':
      if (s.part === undefined || s.uploadId === undefined) return false;
      return checkpoint(s.part, s.etag, s.uploadId);
    case 'done':
      // A finished copy is finished, whichever attempt finished it.
      return update(
        'SET #state = :done, bytesCopied = :bytes, finishedAt = :at REMOVE #error, migrateTo, openJob',
        '#state <> :done',
        { ':done': 'done', ':bytes': s.bytes ?? 0, ':at': new Date(s.at).toISOString() },
        { '#error': 'error' },
      );
    case 'failed':
      return update(
        'SET #state = :failed, #error = :error',
        ofThisAttempt,
        {
          ...live,
          ':failed': 'failed',
          ':error': s.error ?? 'failed',
        },
        { '#error': 'error' },
      );
    case 'stopped': {
      const removeTarget = s.error ? ' REMOVE migrateTo' : '';
      // With the last part's ETag, so the stop alone, whatever order the statuses come in,
      // gives the next worker every checkpoint it resumes after (migration.ts sends it then).
      // The usual stop (of this attempt, its upload the one the log knows, no later part
      // logged) is one write: the remainder waits for it. Any other goes step by step.
      if (s.part !== undefined && s.part > 0 && s.uploadId && s.etag !== undefined) {
        const whole = await stop(
          `SET etags.#part = :etag, uploadId = :upload, partsDone = :part, bytesCopied = :bytes, checkpointAt = :at, #state = :stopped${removeTarget}`,
          `${ofThisAttempt} AND (attribute_not_exists(uploadId) OR uploadId = :upload) AND partsDone <= :part`,
          {
            ...live,
            ':stopped': 'stopped',
            ':etag': s.etag,
            ':upload': s.uploadId,
            ':part': s.part,
            ':bytes': Math.min(s.part * partSize, Number.MAX_SAFE_INTEGER),
            ':at': new Date(s.at).toISOString(),
          },
          { '#part': String(s.part) },
        );
        if (whole) return whole;
      }
      if (s.part !== undefined && s.part > 0 && s.uploadId)
        await checkpoint(s.part, s.etag, s.uploadId);
      // A copy stopped within its first part has no checkpoint, but may have opened its
      // upload: the log keeps it (unless it knows one), so the remainder resumes that upload
      // rather than leave it open and unfinished in the destination.
      const upload = s.uploadId ? ', uploadId = if_not_exists(uploadId, :upload)' : '';
      // Stopped at its deadline, not asked: the controller picks where the rest goes.
      return stop(`SET #state = :stopped${upload}${removeTarget}`, ofThisAttempt, {
        ...live,
        ':stopped': 'stopped',
        ...(s.uploadId ? { ':upload': s.uploadId } : {}),
      });
    }
  }
}

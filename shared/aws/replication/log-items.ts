/**
 * How the replication log lays out its items on its DynamoDB table, and the cursors of its
 * listings:
 * - a job is item `pk = job/<id>, sk = job`;
 * - each task `pk = job/<id>, sk = task/<taskId>`, carrying `openJob` while not done (the
 *   sparse index `open`);
 * - the list of jobs `pk = jobs, sk = <id>`;
 * - a vault's continuous rule `pk = rule/<vault>, sk = rule`.
 * A cursor is the base64url of a listing's last key, checked on its way back in, as DynamoDB
 * refuses (with a 500 here) any start key but an item's own keys.
 */
import { InvalidParameterError } from '../../errors.ts';
import type { ReplicationJob, ReplicationTask } from '../../replication/index.ts';

export const jobKey = (id: string) => ({ pk: `job/${id}`, sk: 'job' });
export const taskKey = (jobId: string, taskId: string) => ({
  pk: `job/${jobId}`,
  sk: `task/${taskId}`,
});

export const ruleKey = (vault: string) => ({ pk: `rule/${vault}`, sk: 'rule' });

export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

/**
 * The start key `cursor` carries, when `valid` says it is one of this listing's (DynamoDB
 * refuses, with a 500 here, any start key but the exact keys of an item of the query).
 * @throws InvalidParameterError on `cursor` for anything else.
 */
function cursorKey(
  cursor: string | undefined,
  valid: (key: Record<string, unknown>) => boolean,
): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const k = key as Record<string, unknown> | null | undefined;
  if (typeof k !== 'object' || k === null || Array.isArray(k) || !valid(k))
    throw new InvalidParameterError('cursor', 'is not a cursor this listing returned');
  return k;
}

/** A start key of a partition's listing: exactly `{pk, sk}`, `sk` under `skPrefix`. */
export function decodeCursor(cursor: string | undefined, pk: string, skPrefix = '') {
  return cursorKey(
    cursor,
    (k) =>
      Object.keys(k).length === 2 &&
      k.pk === pk &&
      typeof k.sk === 'string' &&
      k.sk.startsWith(skPrefix),
  );
}

/** A start key of the open index: `{openJob, pk, sk}` of one of the job's tasks. */
export function decodeOpenCursor(cursor: string | undefined, jobId: string) {
  return cursorKey(
    cursor,
    (k) =>
      Object.keys(k).length === 3 &&
      k.openJob === jobId &&
      k.pk === `job/${jobId}` &&
      typeof k.sk === 'string' &&
      k.sk.startsWith('task/'),
  );
}

export function jobOf(item: Record<string, unknown>): ReplicationJob {
  const { pk: _pk, sk: _sk, ...job } = item;
  return job as unknown as ReplicationJob;
}

/** The sparse index of the tasks not done: `openJob` (their job's id), then `sk`. */
export const OPEN_INDEX = 'open';

/** A task as its item: its key, its fields, and `openJob` while it is not done. */
export function taskItem(task: ReplicationTask): Record<string, unknown> {
  return {
    ...taskKey(task.jobId, task.id),
    ...task,
    ...(task.state === 'done' ? {} : { openJob: task.jobId }),
  };
}

export function taskOf(item: Record<string, unknown>): ReplicationTask {
  // The dispatch id only tells a mark's lost answer from a lost race (markDispatched).
  const { pk: _pk, sk: _sk, openJob: _open, dispatchId: _dispatch, ...task } = item;
  return task as unknown as ReplicationTask;
}

/**
 * A one-off job's view says when its controller execution ended with the job unfinished
 * (shared/replication/jobs.ts `showReplication`): not while the execution runs, not when the
 * execution ended the job just now, not for a standing job, and not when Step Functions could
 * not answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReplicationJob } from '../../../shared/replication/job.ts';
import { STALLED_ERROR, showReplication } from '../../../shared/replication/jobs.ts';
import type { Controller, ReplicationLog } from '../../../shared/replication/ports.ts';
import { replicationJob } from '../../helpers/replication.ts';

/** A view over `reads` (the job as each read finds it) and an execution answering `running`. */
async function view(reads: ReplicationJob[], running: () => Promise<boolean>) {
  let n = 0;
  const log = {
    getJob: async () => reads[Math.min(n++, reads.length - 1)],
    tasks: async () => ({ tasks: [] }),
  } as unknown as ReplicationLog;
  const controller = { running } as unknown as Controller;
  return showReplication({ log, controller, workers: 4 }, 'rjob');
}

const running = replicationJob({ executionArn: 'arn:execution:rjob-1' });

test("a running job whose execution ended says so; one whose execution runs, or ended it just now, doesn't", async () => {
  // Act
  const ended = await view([running], async () => false);
  const live = await view([running], async () => true);
  const finalized = await view(
    [running, { ...running, state: 'succeeded', finishedAt: running.startedAt }],
    async () => false,
  );
  const restartedMeanwhile = await view(
    [running, { ...running, executionArn: 'arn:execution:rjob-2' }],
    async () => false,
  );

  // Assess
  assert.equal(ended.error, STALLED_ERROR);
  assert.equal(ended.state, 'running');
  assert.equal(live.error, undefined);
  assert.equal(finalized.error, undefined);
  assert.equal(restartedMeanwhile.error, undefined);
});

test('a standing job, a job with no execution yet, and an unanswered question are not flagged', async () => {
  // Act
  const standing = await view([{ ...running, continuous: true }], async () => false);
  const unstarted = await view([replicationJob()], async () => false);
  const throttled = await view([running], async () => {
    throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
  });

  // Assess
  assert.deepEqual(
    [standing.error, unstarted.error, throttled.error],
    [undefined, undefined, undefined],
  );
});

/** Load scores (seed 004): queued plus in-flight bytes per worker, and when to rebalance. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  leastLoaded,
  REBALANCE_THRESHOLD,
  rebalancePair,
  workerLoads,
} from '../../../shared/replication/load-score.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';

const task = (fields: Partial<ReplicationTask>): ReplicationTask => ({
  jobId: 'j',
  id: fields.id ?? 't',
  kind: 'copy',
  key: 'k',
  destinationKey: 'k',
  size: 100,
  modifiedAt: 0,
  state: 'queued',
  attempts: 1,
  round: 1,
  partsDone: 0,
  etags: {},
  bytesCopied: 0,
  ...fields,
});

test("a worker's score is its queued bytes plus what its copies in flight have left", () => {
  // Prepare: parts of 10 bytes; worker 1 has done 3 parts of a 100-byte copy.
  const tasks = [
    task({ destinationWorker: 0, size: 40 }),
    task({ destinationWorker: 1, size: 100, state: 'running', partsDone: 3 }),
    task({ destinationWorker: 1, size: 5, state: 'done' }),
    task({ destinationWorker: 2, size: 7, state: 'pending' }),
  ];

  // Act
  const loads = workerLoads(tasks, 3, 10);

  // Assess
  assert.deepEqual(loads, [
    { worker: 0, load: 40, tasks: 1 },
    { worker: 1, load: 70, tasks: 1 },
    { worker: 2, load: 0, tasks: 0 },
  ]);
  assert.equal(leastLoaded(loads).worker, 2);
});

test('rebalancing starts when (max - min) / max passes the threshold, and not at it', () => {
  const loads = (a: number, b: number) => [
    { worker: 0, load: a, tasks: 1 },
    { worker: 1, load: b, tasks: 1 },
  ];
  assert.equal(REBALANCE_THRESHOLD, 0.5);
  assert.equal(rebalancePair(loads(100, 50)), undefined);
  const pair = rebalancePair(loads(100, 49));
  assert.equal(pair?.from.worker, 0);
  assert.equal(pair?.to.worker, 1);
  assert.equal(rebalancePair(loads(0, 0)), undefined);
  assert.equal(rebalancePair([{ worker: 0, load: 9, tasks: 1 }]), undefined);
});

/** Load scores (seed 004): queued plus in-flight bytes per worker, and when to rebalance. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  inFlightToMove,
  leastLoaded,
  REBALANCE_THRESHOLD,
  rebalancePair,
  workerLoads,
} from '../../../shared/replication/load-score.ts';
import type { ReplicationTask } from '../../../shared/replication/task.ts';
import { replicationTask } from '../../helpers/replication.ts';

const task = (fields: Partial<ReplicationTask>): ReplicationTask =>
  replicationTask({ size: 100, ...fields });

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

test('an in-flight copy moves when its remainder after the current part is one part or more and less than half the gap', () => {
  // Prepare: parts of 10 bytes, all on worker 0.
  const copy = (
    id: string,
    size: number,
    partsDone: number,
    fields: Partial<ReplicationTask> = {},
  ) => task({ id, size, partsDone, state: 'running', destinationWorker: 0, ...fields });
  const tasks = [
    copy('near-end', 100, 8), // 20 left: finishes its part, 10 would move
    copy('big', 100, 2), // 80 left: 70 would move
    copy('mid', 100, 5), // 50 left: 40 would move
    copy('last-part', 100, 9), // 10 left: nothing after the current part
    copy('whole', 8, 0), // below a part: not multi-part
    copy('queued', 100, 0, { state: 'queued' }),
    copy('elsewhere', 100, 0, { destinationWorker: 1 }),
  ];

  // Act
  const moves = [10, 19, 20, 79, 80, 140, 1000].map((gap) => inFlightToMove(tasks, 0, gap, 10));

  // Assess: the largest remainder that is less than half the gap.
  assert.deepEqual(
    moves.map((m) => m && `${m.task.id}:${m.bytes}`),
    [undefined, undefined, undefined, 'near-end:10', 'near-end:10', 'mid:40', 'big:70'],
  );
});

test('a migration by load never swaps which worker is the more loaded, so it is not moved back', () => {
  // Prepare: one copy of 100 parts of 10 bytes in flight on worker 0, worker 1 idle.
  const tasks = [
    task({ id: 'lone', size: 1000, partsDone: 0, state: 'running', destinationWorker: 0 }),
  ];
  const pair = rebalancePair(workerLoads(tasks, 2, 10));

  // Act
  const move = pair && inFlightToMove(tasks, pair.from.worker, pair.from.load - pair.to.load, 10);

  // Assess: all but its current part would leave worker 0 with less than worker 1.
  assert.ok(pair);
  assert.equal(move, undefined);
});

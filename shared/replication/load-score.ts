/**
 * Load scores (seed 004, the load-score page): a worker's score is the bytes it has queued
 * plus the bytes left of the copies it has in flight. When no worker is overloaded, workers are
 * sorted by score and new tasks go to the least loaded; when `(max - min) / max` passes the
 * threshold, queued tasks move from the most loaded worker to the least loaded one, and when
 * that is not enough, an in-flight large copy moves by migration (`inFlightToMove`).
 */
import { bytesOfParts, holderOf, partCount, type ReplicationTask } from './task.ts';

/** `(max - min) / max` past which the controller rebalances. */
export const REBALANCE_THRESHOLD = 0.5;

export interface WorkerLoad {
  worker: number;
  /** Queued plus in-flight bytes. */
  load: number;
  /** Unfinished tasks on it. */
  tasks: number;
}

/** Bytes a task still has to copy. */
export function remainingBytes(task: ReplicationTask, partSize: number): number {
  if (task.kind === 'delete') return 0;
  return task.size - bytesOfParts(task.partsDone, partSize, task.size);
}

/** Every worker's score from the tasks queued on it or in flight there. */
export function workerLoads(
  tasks: Iterable<ReplicationTask>,
  workers: number,
  partSize: number,
): WorkerLoad[] {
  const loads = Array.from({ length: workers }, (_, worker) => ({ worker, load: 0, tasks: 0 }));
  for (const t of tasks) {
    const w = holderOf(t);
    if (w === undefined || !['queued', 'running', 'stopping'].includes(t.state)) continue;
    const slot = loads[w];
    if (!slot) continue;
    slot.load += remainingBytes(t, partSize);
    slot.tasks += 1;
  }
  return loads;
}

/** The least loaded worker (the lowest index among equals). */
export function leastLoaded(loads: WorkerLoad[]): WorkerLoad {
  return loads.reduce((best, l) => (l.load < best.load ? l : best));
}

/**
 * When the gap between the most and least loaded passes `threshold`, the pair to move work
 * between; otherwise undefined.
 */
export function rebalancePair(
  loads: WorkerLoad[],
  threshold = REBALANCE_THRESHOLD,
): { from: WorkerLoad; to: WorkerLoad } | undefined {
  if (loads.length < 2) return undefined;
  const sorted = [...loads].sort((a, b) => a.load - b.load || a.worker - b.worker);
  const to = sorted[0] as WorkerLoad;
  const from = sorted[sorted.length - 1] as WorkerLoad;
  if (from.load === 0 || (from.load - to.load) / from.load <= threshold) return undefined;
  return { from, to };
}

/**
 * The copy in flight on `from` to migrate to `to` when moving queued tasks left the gap
 * between them at `gap` bytes, or undefined. A migrated copy finishes the part it is on where
 * it is, so what moves is its remainder after that part; a remainder of at least one whole
 * part and less than half the gap moves, the largest such. Less than half: `from` stays more
 * loaded than `to` afterwards, so the next round never moves it back (every move lowers the sum
 * of the squared loads, so moves cannot cycle), and a lone copy never moves at all (all it
 * would do is pause).
 */
export function inFlightToMove(
  tasks: Iterable<ReplicationTask>,
  from: number,
  gap: number,
  partSize: number,
): { task: ReplicationTask; bytes: number } | undefined {
  let best: { task: ReplicationTask; bytes: number } | undefined;
  for (const t of tasks) {
    if (t.state !== 'running' || holderOf(t) !== from || partCount(t.size, partSize) === 0)
      continue;
    const left = remainingBytes(t, partSize);
    const bytes = left - Math.min(partSize, left);
    if (bytes < partSize || 2 * bytes >= gap) continue;
    if (!best || bytes > best.bytes) best = { task: t, bytes };
  }
  return best;
}

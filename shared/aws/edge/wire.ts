/**
 * Pre-positioning's wiring: the edge table, the pool's slices (home and edge units alike), the
 * index, and the planner's request queue, for the api, the committer and the planner function.
 */
import { loadConfig } from '../../config.ts';
import {
  AccessCounter,
  type EdgeAdminDeps,
  EdgeReads,
  type PlannerDeps,
  type StagingDeps,
} from '../../edge/index.ts';
import type { Runtime } from '../runtime.ts';
import { DynamoObjectIndex } from '../store/object-index.ts';
import { wireSlices } from '../store/wire.ts';
import { DynamoEdgeStore } from './edge-store.ts';
import { SqsPlanRequests } from './plan-queue.ts';

/** Access counts go out every 2 s or 200 reads, whichever comes first. */
const FLUSH_MS = 2_000;
const FLUSH_READS = 200;

/** Staging, unstaging and invalidation: what the planner and the committer's task use. */
export function wireStaging(rt: Runtime): StagingDeps {
  const config = loadConfig(rt.env, ['edgeTable', 'objectsTable']);
  return {
    edge: new DynamoEdgeStore(rt.clients.documents, config.edgeTable),
    index: new DynamoObjectIndex(rt.clients.documents, config.objectsTable),
    slices: wireSlices(rt).slices,
    clock: rt.clock,
    log: rt.log,
  };
}

/** The planner function. */
export function wirePlanner(rt: Runtime): PlannerDeps {
  return wireStaging(rt);
}

/** The api's side: reads (with their access counter) and the admin routes. */
export function wireEdgeApi(rt: Runtime): { reads: EdgeReads; admin: EdgeAdminDeps } {
  const config = loadConfig(rt.env, ['edgeTable', 'edgeUnits', 'edgePlanQueueUrl']);
  const edge = new DynamoEdgeStore(rt.clients.documents, config.edgeTable);
  const counter = new AccessCounter({
    edge,
    clock: rt.clock,
    log: rt.log,
    flushMs: FLUSH_MS,
    flushReads: FLUSH_READS,
  });
  return {
    reads: new EdgeReads({ edge, slices: wireSlices(rt).slices, counter, clock: rt.clock }),
    admin: {
      edge,
      plans: new SqsPlanRequests(rt.clients.sqs, config.edgePlanQueueUrl),
      edgeUnits: config.edgeUnits,
      clock: rt.clock,
    },
  };
}

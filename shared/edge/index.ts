/**
 * Pre-positioning (seed 004's last abstract): slices of content a client group is predicted to
 * read, staged at edge units near it. Access statistics with decay, the predictor, the planner
 * (partial downloads, schedule, eviction under a budget), staging and its invalidation, and the
 * reader's side.
 */
export {
  AccessCounter,
  type AccessCounterOptions,
  addReads,
  decayed,
  writeCounts,
} from './access-stats.ts';
export {
  configureGroup,
  type EdgeAdminDeps,
  edgeOverview,
  groupState,
  requestPlan,
} from './admin.ts';
export { type EdgeReadDeps, EdgeReads } from './edge-reads.ts';
export {
  DEFAULT_BYTES_PER_RUN,
  DEFAULT_HALF_LIFE_SECONDS,
  type EdgeGroup,
  type EdgeSchedule,
  groupNameSchema,
  groupRequestSchema,
  inWindow,
  parseGroup,
  validateGroupName,
} from './group.ts';
export { edgeBus, edgeTask } from './invalidation.ts';
export {
  type PlannerDeps,
  parsePlanRequest,
  runPlanner,
} from './planner.ts';
export type {
  AccessScore,
  EdgeStore,
  GroupRun,
  PlanRequests,
  PlanRun,
  StagedObject,
} from './ports.ts';
export { NEIGHBOUR_SHARE, predictTargets, seriesOf, type Target } from './predictor.ts';
export {
  edgeKey,
  edgeOutcome,
  edgeSlicesOf,
  edgeUnitFor,
  slicesPerUnit,
  stagedKeysByUnit,
} from './staged-object.ts';
export {
  invalidate,
  type StagingDeps,
  stagedBytesOf,
  stageObject,
  unstage,
  unstageableReason,
} from './staging.ts';

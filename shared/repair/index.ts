/**
 * Repair (the seed-000 family): segment health, explain, rebuild jobs and the rebuilder.
 * Other systems import this file only.
 */
export {
  DEFAULT_EXPLAIN_SEGMENTS,
  type ExplainDeps,
  type ExplainPage,
  type ExplainTopologies,
  explainObject,
  explainPageSchema,
  MAX_EXPLAIN_SEGMENTS,
  type ObjectExplanation,
  type PillarExplanation,
  type TopologyExplanation,
} from './explain.ts';
export type { QueuedDamage, RebuildJobStore, RebuildTrigger, RepairInbox } from './ports.ts';
export {
  parseRebuildMessage,
  parseRebuildRequest,
  publicJob,
  type RebuildJob,
  rebuildRequestSchema,
} from './rebuild-job.ts';
export { type RebuilderDeps, runRebuildStep, startRebuild } from './rebuilder.ts';
export { Throttle } from './throttle.ts';

/**
 * Repair (the seed-000 family): segment health, explain, rebuild jobs and the rebuilder.
 * Other systems import this file only.
 */
export {
  DEFAULT_EXPLAIN_SEGMENTS,
  type ExplainPage,
  explainObject,
  explainPageSchema,
  MAX_EXPLAIN_SEGMENTS,
  type ObjectExplanation,
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

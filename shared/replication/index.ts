/**
 * Replication (seeds 003 and 004): jobs turned into copy and delete tasks by a controller (a
 * state machine), run by a pool of workers each with its own queue, their statuses logged
 * through one queue into a persistent log that a restart reads; multi-part copies checkpointed
 * per part and moved between workers at a part boundary; load scores and rebalancing. Other
 * systems import this file only.
 */

export { collect } from './collect.ts';
export {
  type ContinuousDeps,
  deleteReplicationRule,
  getReplicationRule,
  putReplicationRule,
  replicationBus,
  replicationTask,
  ruleSchema as replicationRuleSchema,
} from './continuous.ts';
export {
  type ControllerDeps,
  type ControllerStep,
  type Progress,
  parseControllerInput,
  runControllerStep,
} from './controller.ts';
export {
  type JobRequest,
  jobRequestSchema,
  parseJobRequest,
  type ReplicationJob,
} from './job.ts';
export {
  cancelReplication,
  type JobsDeps,
  jobIdSchema,
  jobListQuerySchema,
  listReplications,
  listReplicationTasks,
  MAX_TASK_LIMIT,
  migrateReplicationTask,
  migrateSchema,
  restartReplication,
  showReplication,
  startReplication,
  taskQuerySchema,
} from './jobs.ts';
export { REBALANCE_THRESHOLD, type WorkerLoad } from './load-score.ts';
export { type RemainderDeps, sendRemainderOnce } from './migration.ts';
export {
  type Controller,
  type CopiedVersion,
  CRASH_POINTS,
  type CrashHook,
  type CrashPoint,
  type ObjectEntry,
  type ObjectSide,
  type ReplicationLog,
  type SideOpener,
  type SlowTaskHook,
  type StatusApplied,
  type StatusBatches,
  type StatusQueue,
  type TaskPage,
  type WorkerInbox,
  type WorkerQueues,
} from './ports.ts';
export type { ReplicationRule } from './rule.ts';
export {
  bucketSideSchema,
  describeSide,
  isVaultSide,
  type Side,
  vaultSideSchema,
} from './side.ts';
export {
  SourceChangedError,
  type SourceVersion,
  sameSecond,
} from './source-version.ts';
export {
  type Delivery,
  parseStatus,
  parseTaskMessage,
  type TaskMessage,
  type TaskStatus,
} from './status.ts';
export { recordStatusOnce, type StatusLogDeps } from './status-log.ts';
export { partCount, type ReplicationTask, type TaskState } from './task.ts';
export { UploadGoneError } from './upload-gone.ts';
export { type VaultSideDeps, vaultSide } from './vault-side.ts';
export {
  heldJobReads,
  RUNNING_JOB_HOLD_MS,
  runTask,
  type TaskOutcome,
  type WorkerDeps,
} from './worker.ts';
export {
  type BatchFailures,
  HandedBackError,
  runTaskBatch,
  STATUS_BATCH,
  STATUS_HOLD_MS,
  type TaskRecord,
  type WorkerBatchDeps,
} from './worker-batch.ts';

/**
 * Work (seed 001): ordered work items stored dispersed as function slices, taken by workers
 * through lock-read-delete ownership, run on the vault's objects. Other systems import this
 * file only.
 */
export { decodeDefinition, encodeDefinition } from './function-slice.ts';
export { nudgeBody, parseNudge } from './nudge.ts';
export { storeObjectAccess } from './object-access.ts';
export { type ObjectAccess, type OpContext, OpRegistry, type WorkOp } from './op.ts';
export { ExpansionCapError } from './ops/decompress.ts';
export { GREP_TEXT_LIMIT } from './ops/grep.ts';
export { builtInOps } from './ops/index.ts';
export { type Claim, claimItem, lockReadDelete, ownershipThreshold } from './ownership.ts';
export type {
  FunctionSliceState,
  RecordChange,
  RecordCondition,
  Reservation,
  SliceLock,
  SliceRef,
  WorkStore,
} from './ports.ts';
export {
  beforeReservation,
  holdsChange,
  holdsLock,
  holdsReservation,
} from './repeated-request.ts';
export { sweepSlices } from './slice-sweep.ts';
export {
  OPEN_STATES,
  type PublicWorkItem,
  publicItem,
  seqOfId,
  WORK_STATES,
  type WorkDefinition,
  type WorkRecord,
  type WorkState,
  workId,
} from './work-item.ts';
export {
  addWork,
  addWorkSchema,
  cancelWork,
  explainWork,
  getWork,
  listWork,
  listWorkSchema,
  type WorkListDeps,
  type WorkNudge,
} from './work-list.ts';
export { MAX_RESULT_BYTES } from './work-result.ts';
export {
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_ATTEMPTS,
  drainWork,
  runNext,
  type Slot,
  type StepReport,
  type WorkerDeps,
  type WorkerHooks,
  type WorkOutcome,
} from './worker.ts';

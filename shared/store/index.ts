/**
 * The store (seed 000): vaults, the writer, storage units, the committer and its associated
 * tasks, the reader, staged uploads and the janitor. Other systems import this file only.
 */

export { FENCE_FREE_MS, type LateWrites, lateWriteTask } from './commit-fence.ts';
export {
  type CommitNudge,
  type CommitterInput,
  nudgeMessage,
  parseCommitterMessage,
} from './commit-nudge.ts';
export { CommitPace } from './commit-pace.ts';
export {
  type AssociatedTask,
  AssociatedTaskRegistry,
  type CommitterDeps,
  defaultTasks,
  GARBAGE_GRACE_MS,
  recordStatusesOnce,
  settleCommitterBatch,
} from './committer.ts';
export { type DeleterDeps, deleteObject, tombstoneLifetimeMs } from './deleter.ts';
export {
  announceSegments,
  completeDispersal,
  type DispersalDeps,
  type OpenedDispersal,
  openDispersal,
  presignSlices,
  type SliceUrl,
} from './dispersal.ts';
export {
  completeDispersalSchema,
  DISPERSAL_URL_SECONDS,
  dispersalSegmentsSchema,
  MAX_DISPERSAL_URL_SECONDS,
  MAX_SEGMENTS_PER_CALL,
  openDispersalSchema,
} from './dispersal-request.ts';
export {
  CANCELLED_BY_WRITER,
  type CancelledDispersal,
  cancelDispersal,
  type DispersalListing,
  type DispersalState,
  describeDispersal,
  dispersalListingQuerySchema,
  type ListedDispersal,
  listDispersals,
  MAX_DISPERSALS_LISTED,
} from './dispersal-state.ts';
export { INLINE_LIMIT } from './inline-limit.ts';
export {
  JANITOR_MARGIN_MS,
  type JanitorDeps,
  runJanitor,
  TIMED_OUT,
} from './janitor.ts';
export {
  type Listing,
  type ListingQuery,
  listingQuerySchema,
  listObjects,
  MAX_LISTING_LIMIT,
  parseListingQuery,
} from './listing.ts';
export { decodeListingCursor, encodeListingCursor } from './listing-cursor.ts';
export {
  ADDRESS_ATTRIBUTE,
  parseStatusMessage,
  parseUnitMessage,
  type StatusMessage,
  TARGETS_ATTRIBUTE,
  targetsOf,
  type UnitMessage,
} from './multicast.ts';
export {
  attributeHeaders,
  checkPrecondition,
  MAX_META_BYTES,
  noneMatch,
  type ObjectAttributes,
  objectHeaders,
  type Precondition,
  parseObjectAttributes,
  parsePrecondition,
  rangeApplies,
  readPrecondition,
} from './object-attributes.ts';
export {
  committedEvent,
  deletedEvent,
  lostEvent,
  type ObjectEvent,
  quarantinedEvent,
  repairedEvent,
} from './object-event.ts';
export {
  compareKeys,
  MAX_KEY_BYTES,
  objectKeySchema,
  validateKey,
  validateKeyPrefix,
} from './object-key.ts';
export type {
  ContentScanSession,
  DispersalQueue,
  EventBus,
  IndexEntry,
  Ledger,
  Multicast,
  MultipartPart,
  MultipartStaging,
  ObjectIndex,
  RepairLog,
  ScanState,
  ScanVerdict,
  SegmentJudge,
  SegmentTally,
  SegmentVotes,
  SliceDamage,
  SlicePresigner,
  SliceStore,
  StagingStore,
  StoredSlice,
  UploadStore,
  VaultStore,
  WriteScanner,
} from './ports.ts';
export {
  type GrantedEdge,
  grantedEdgeSlices,
  grantRead,
  MAX_GRANTED_EDGE_SLICES,
  READ_GRANT_LIFETIME_MS,
  type ReadGrant,
  type ReadGrantDeps,
  type ReadGrantStore,
  redeemRead,
} from './read-grant.ts';
export {
  type EdgeSlices,
  type EntryReaderDeps,
  openEntry,
  openObject,
  parseRange,
  type ReaderDeps,
  readEntry,
} from './reader.ts';
export {
  MAX_DAMAGE_PER_REPORT,
  openRetrieval,
  openRetrievalSchema,
  RETRIEVAL_URL_SECONDS,
  type Retrieval,
  type RetrievalDeps,
  type RetrievalManifest,
  type RetrievalSliceUrl,
  reportDamage,
  retrievalDamageSchema,
} from './retrieval.ts';
export {
  dispersingKey,
  extendedDueAt,
  MAX_PENDING_AGE_MS,
  newRevisionId,
  type RevisionRecord,
  type RevisionState,
  revisionTime,
  type UnitStatus,
  type WrittenScan,
} from './revision.ts';
export {
  DAMAGE_DEFECTS,
  type DamageDefect,
  parseSliceDamage,
  sliceDamageSchema,
} from './slice-damage.ts';
export {
  attemptDispersal,
  DISPERSAL_CRASH_POINTS,
  type DispersalCrashPoint,
  type DispersalDeadline,
  type DispersalDelivery,
  type DispersalMessage,
  disperseUpload,
  parseDispersalMessage,
} from './staged-dispersal.ts';
export { isSuperseded, topologyOf } from './superseded-write.ts';
export {
  SUPERSEDED_GRACE_MS,
  storeSlicesOnce,
  TOPOLOGY_VIEW_MS,
  topologyView,
  type UnitDelivery,
} from './unit.ts';
export {
  ABORTED_BY_WRITER,
  abortUpload,
  type CreatedUpload,
  completeUpload,
  createUpload,
  createUploadSchema,
  getUpload,
  MAX_OPEN_UPLOADS,
  MAX_PRESIGNED_PARTS,
  MIN_PRESIGNED_PART,
  parsePartNumber,
  parseUploadId,
  partParamSchema,
  putPart,
  UPLOAD_LIFETIME_MS,
  type UploadDeps,
  type UploadView,
  uploadIdSchema,
} from './upload.ts';
export { FOLLOW_UP_MS, followUp, type PendingUploadDeps } from './upload-outcome.ts';
export type { DispersalProgress, Upload, UploadState } from './upload-record.ts';
export {
  createVaultRequestSchema,
  type Vault,
  validateVaultName,
  vaultNameSchema,
} from './vault.ts';
export {
  CachingVaultStore,
  createVault,
  ensureDefaultVault,
  vaultSubscriptionView,
} from './vault-catalog.ts';
export { type WriteOutcome, waitForOutcome } from './write-outcome.ts';
export {
  type SteppedOutcome,
  type SteppedWriteOptions,
  type WritePoint,
  type WriterDeps,
  writeObject,
  writeObjectInSteps,
} from './writer.ts';

/**
 * In-memory implementations of the store's and the repair system's ports, for unit tests. Each
 * behaves as its AWS adapter does (the contracts in test/contracts/ hold both to it), so a test
 * over them exercises the same conditional writes, idempotence and edge cases as production.
 */
export { MemoryBucket, type MemoryObject } from './bucket.ts';
export { byUtf8, document, ValidationException } from './documents.ts';
export { MemoryEdgeStore } from './edge-store.ts';
export { MemoryKeyStore } from './key-store.ts';
export { MemoryLedger } from './ledger.ts';
export {
  MemoryInitiators,
  MemoryListenerStore,
  MemoryNodeQueues,
  MemoryParticipants,
  RecordingTargets,
  type Sent,
} from './listeners.ts';
export { MemoryEventBus, MemoryMulticast } from './messaging.ts';
export { MemoryObjectIndex } from './object-index.ts';
export {
  MemoryRebuildJobStore,
  MemoryRebuildTrigger,
  MemoryRepairQueue,
  RETRY_AFTER_MS,
} from './repair.ts';
export {
  MemoryAuditLog,
  MemoryFenceScope,
  MemoryFreezeStore,
  MemoryRoleLeases,
} from './roles.ts';
export { BadDigestError, MemorySliceStore } from './slice-store.ts';
export { MemoryDispersalQueue, MemoryStagingStore, MemoryUploadStore } from './uploads.ts';
export { MemoryVaultStore } from './vault-store.ts';
export { MemoryWorkStore, UnitDownError } from './work.ts';

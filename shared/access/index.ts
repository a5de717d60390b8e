/**
 * Access control: who signed a request (SigV4 keys and sessions), what their policy allows,
 * and sessions' security information against objects' scan states (seed 004). Other systems
 * import this file only.
 */
export type { RulesStore, StoredRules } from './ports.ts';
export {
  ACTIONS,
  type Action,
  allows,
  isAdmin,
  LOCAL_ROOT,
  type Policy,
  type PolicyStatement,
  type Principal,
  policySchema,
  policyStatementSchema,
} from './principal.ts';
export { gateRead, type ReadDecision, readDecision } from './read-gate.ts';
export {
  BUILTIN_RULES,
  currentRules,
  MAX_RULES_BYTES,
  putScanRules,
  RULES_CACHE_MS,
  type RulesSummary,
  showScanRules,
} from './scan-rules.ts';
export { SCAN_STATES, type ScanState, scanStateOf } from './scan-state.ts';
export { type ScanTaskDeps, scanRevision, scanTask } from './scan-task.ts';
export {
  everyScanner,
  type Scanner,
  type ScanSession,
  scanStream,
  signatureScanner,
  type Verdict,
} from './scanner.ts';
export {
  type BytePattern,
  type HashSignature,
  mergeRules,
  parseRules,
  type RuleSet,
  SignatureMatcher,
  type SkippedLine,
} from './signatures.ts';

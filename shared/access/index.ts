/**
 * Access control: who signed a request (SigV4 keys and sessions), what their policy allows,
 * and sessions' security information against objects' scan states (seed 004). Other systems
 * import this file only.
 */
export {
  createKey,
  createKeySchema,
  createSession,
  createSessionSchema,
  DEFAULT_SESSION_SECONDS,
  disableKey,
  type IssuedKey,
  type KeyDeps,
  type KeySummary,
  listKeys,
  rotateKey,
  type SessionCredentials,
} from './access-key.ts';
export { type AuthenticateDeps, authenticate } from './authenticate.ts';
export type {
  KeyRecord,
  KeyStore,
  RootKeySource,
  RulesStore,
  SecretCipher,
  StoredRules,
} from './ports.ts';
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
export {
  gateRead,
  type ReadDecision,
  type Reader,
  readDecision,
  readerOf,
} from './read-gate.ts';
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
  type IncomingRequest,
  MAX_CLOCK_SKEW_MS,
  MAX_PRESIGN_SECONDS,
  parseSignature,
  verifySignature,
} from './signature.ts';
export {
  type BytePattern,
  type HashSignature,
  mergeRules,
  parseRules,
  type RuleSet,
  SignatureMatcher,
  type SkippedLine,
} from './signatures.ts';
export {
  type Credentials,
  NodeSha256,
  presignUrl,
  SERVICE,
  signatureHeaders,
  UNSIGNED_PAYLOAD,
} from './signer.ts';

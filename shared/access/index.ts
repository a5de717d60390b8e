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
export type { KeyRecord, KeyStore, RootKeySource, SecretCipher } from './ports.ts';
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
  type IncomingRequest,
  MAX_CLOCK_SKEW_MS,
  MAX_PRESIGN_SECONDS,
  parseSignature,
  verifySignature,
} from './signature.ts';
export {
  type Credentials,
  NodeSha256,
  presignUrl,
  SERVICE,
  signatureHeaders,
  UNSIGNED_PAYLOAD,
} from './signer.ts';

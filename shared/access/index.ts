/**
 * Access control: who signed a request (SigV4 keys and sessions), what their policy allows,
 * and sessions' security information against objects' scan states (seed 004). Other systems
 * import this file only.
 */
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

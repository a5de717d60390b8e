/**
 * Who makes a request, as every system's routes see it: the access key (or session) that
 * signed it, its policy, and the session's security information (seed 004's storage-management
 * abstract: whether the session is subject to antivirus protection). The authorizer produces
 * it; the handlers only read it. With authentication off (`DSN_AUTH=off`, the local cloud
 * only) every request is the local root.
 */
import { z } from 'zod';

export const ACTIONS = ['read', 'list', 'write', 'delete', 'admin'] as const;
export type Action = (typeof ACTIONS)[number];

/** One grant of a key's policy: these actions, on these vaults (or `*`), under `prefix`. */
export const policyStatementSchema = z.strictObject({
  vaults: z.array(z.string().min(1)).min(1),
  prefix: z.string().optional(),
  actions: z.array(z.enum(ACTIONS)).min(1),
});
export type PolicyStatement = z.infer<typeof policyStatementSchema>;

export const policySchema = z.array(policyStatementSchema).min(1).max(100);
export type Policy = z.infer<typeof policySchema>;

export interface Principal {
  /** The long-term key, or the session's own id for session credentials. */
  accessKeyId: string;
  /** The key a session was issued from; the key itself for a long-term key. */
  rootKeyId: string;
  policy: Policy;
  /**
   * The session's security information: a protected client (an attested, scanning pipeline)
   * may read objects whose scan is still pending; an unprotected one reads only clean ones.
   */
  protected: boolean;
  /** The client group the key reads for (shared/edge/): its reads may use the group's edge units. */
  clientGroup?: string;
}

/** Every request when authentication is off: may do anything, reads anything. */
export const LOCAL_ROOT: Principal = Object.freeze({
  accessKeyId: 'local-root',
  rootKeyId: 'local-root',
  policy: [{ vaults: ['*'], actions: [...ACTIONS] }],
  protected: true,
});

/**
 * Whether `policy` allows `action` on `vault` (and `key`, when the action is on an object).
 * Key and prefix are compared as the store keeps keys, in Unicode's composed form (NFC), so a
 * key spelt with a combining mark cannot step out of its prefix once the store composes it.
 */
export function allows(policy: Policy, action: Action, vault: string, key?: string): boolean {
  return policy.some(
    (s) =>
      (s.actions.includes(action) || s.actions.includes('admin')) &&
      (s.vaults.includes('*') || s.vaults.includes(vault)) &&
      (s.prefix === undefined ||
        key === undefined ||
        key.normalize('NFC').startsWith(s.prefix.normalize('NFC'))),
  );
}

/**
 * Whether `policy` holds the admin action on every vault and every key: a grant bound to a
 * prefix administers that prefix only, never the keys, the network or other tenants.
 */
export function isAdmin(policy: Policy): boolean {
  return policy.some((s) => s.actions.includes('admin') && s.vaults.includes('*') && !s.prefix);
}

/**
 * Leased management roles (seed 004, "a quorum keeps the management role"): a singleton job
 * (the janitor's sweep, the rebuild scheduler, the replication rebalancer, the topology
 * applier, the edge planner) runs in one function at a time. Its holder keeps a lease on the
 * role's item in DynamoDB, with a fencing token that grows by one at every acquisition. A
 * holder that crashes stops renewing, and the role is taken over once its lease has ended; a
 * holder that only paused (and wakes after the takeover) finds its token stale: its renewals
 * are refused, and so are its writes, which carry the token (`FenceScope`).
 */
import type { Clock } from '../clock.ts';
import { RoleLostError, RoleNotFoundError } from '../errors.ts';
import type { Fence, FenceScope, Lease, RoleLeases } from './ports.ts';

export type { Lease };

/** The singleton roles of the network. */
export const ROLES = [
  'janitor',
  'rebuild-scheduler',
  'replication-rebalancer',
  'topology-applier',
  'edge-planner',
] as const;

export type RoleName = (typeof ROLES)[number];

/** A lease as `GET /admin/roles` shows it. */
export interface PublicLease {
  role: string;
  holder: string | null;
  token: number;
  expiresAt: string | null;
  held: boolean;
  acquiredAt?: string;
  renewedAt?: string;
}

/** How long a lease lasts unless renewed: a crashed holder's role is free after this. */
export const DEFAULT_LEASE_MS = 60_000;

export interface RoleDeps {
  leases: RoleLeases;
  fences: FenceScope;
  clock: Clock;
  /** Who asks: the function and its execution environment, for `GET /admin/roles`. */
  holder: string;
  leaseMs?: number;
}

/** A role held: its token, and the renewal its holder calls between steps. */
export interface HeldRole extends Fence {
  holder: string;
  expiresAt: number;
  /**
   * Extends the lease (a long job calls it between steps).
   * @throws RoleLostError when the token no longer holds the role: the holder must stop.
   */
  renew(): Promise<void>;
}

export type RoleRun<T> =
  | { ran: true; token: number; result: T }
  | { ran: false; heldBy: Lease | undefined };

/** @throws RoleNotFoundError unless `role` is one of `ROLES`. */
export function checkRole(role: string): RoleName {
  if (!(ROLES as readonly string[]).includes(role)) throw new RoleNotFoundError(role, ROLES);
  return role as RoleName;
}

/** Takes `role` if it is free or its lease has ended. */
export async function acquireRole(deps: RoleDeps, role: RoleName): Promise<HeldRole | undefined> {
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const now = deps.clock.now();
  const lease = await deps.leases.acquire(role, deps.holder, now, now + leaseMs);
  if (!lease) return undefined;
  const held: HeldRole = {
    role,
    token: lease.token,
    holder: deps.holder,
    expiresAt: lease.expiresAt,
    async renew() {
      const at = deps.clock.now();
      const renewed = await deps.leases.renew(role, held.token, at, at + leaseMs);
      if (!renewed) throw new RoleLostError(role, held.token, 'taken over or released');
      held.expiresAt = renewed.expiresAt;
    },
  };
  return held;
}

/**
 * Runs `fn` as the holder of `role`, when the role can be had: with the lease taken, and every
 * write `fn` makes through fenced adapters carrying the token. Releases the role afterwards
 * (also when `fn` throws), so the next run need not wait for the lease to end. When someone
 * else holds the role, `fn` does not run.
 *
 * @example
 * const run = await withRole(roles, 'janitor', (held) => runJanitor({ ...deps, role: held }));
 * if (!run.ran) log.info('janitor role held elsewhere', { holder: run.heldBy?.holder });
 */
export async function withRole<T>(
  deps: RoleDeps,
  role: RoleName,
  fn: (held: HeldRole) => Promise<T>,
): Promise<RoleRun<T>> {
  const held = await acquireRole(deps, role);
  if (!held) return { ran: false, heldBy: await deps.leases.get(role) };
  try {
    const result = await deps.fences.run({ role, token: held.token }, () => fn(held));
    return { ran: true, token: held.token, result };
  } finally {
    // A holder that lost the role releases nothing: the condition on its token refuses it.
    await deps.leases.release(role, held.token, deps.clock.now());
  }
}

/**
 * Frees `role` whoever holds it (the operator's `role.release`): the next acquirer gets a
 * later token, so the former holder's renewals and writes are refused from then on.
 * @returns the lease released, or undefined when the role was not held.
 */
export async function forceRelease(
  deps: Pick<RoleDeps, 'leases' | 'clock'>,
  role: RoleName,
  token?: number,
): Promise<Lease | undefined> {
  const lease = await deps.leases.get(role);
  if (!lease?.holder) return undefined;
  if (token !== undefined && token !== lease.token) return undefined;
  return (await deps.leases.release(role, lease.token, deps.clock.now())) ? lease : undefined;
}

/** Every role, held or not, as `GET /admin/roles` shows it at `now`. */
export async function listRoles(deps: Pick<RoleDeps, 'leases' | 'clock'>): Promise<PublicLease[]> {
  const now = deps.clock.now();
  const stored = new Map((await deps.leases.list()).map((l) => [l.role, l]));
  return ROLES.map((role) =>
    publicLease(stored.get(role) ?? { role, token: 0, expiresAt: 0 }, now),
  );
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);

export function publicLease(lease: Lease, now: number): PublicLease {
  const held = lease.holder !== undefined && lease.expiresAt > now;
  return {
    role: lease.role,
    holder: lease.holder ?? null,
    token: lease.token,
    expiresAt: lease.holder ? (iso(lease.expiresAt) ?? null) : null,
    held,
    ...(lease.acquiredAt ? { acquiredAt: iso(lease.acquiredAt) } : {}),
    ...(lease.renewedAt ? { renewedAt: iso(lease.renewedAt) } : {}),
  };
}

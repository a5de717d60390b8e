/**
 * What the topology system's management code speaks to: the leases of singleton roles, the
 * scope that makes a holder's writes carry its fencing token, the audit log of admin commands,
 * the freeze marks of vaults and their units, and the topology changes (proposals and jobs).
 * `shared/aws/topology/` implements them on DynamoDB.
 */
import type { CommandRecord, Operation } from './command-record.ts';

/** A role's lease as stored: who holds it, with which token, until when (epoch ms). */
export interface Lease {
  role: string;
  /** Absent once released. */
  holder?: string;
  token: number;
  expiresAt: number;
  acquiredAt?: number;
  renewedAt?: number;
  releasedAt?: number;
}

/** A vault's freeze mark. */
export interface Freeze {
  vault: string;
  /** The admin command that froze it. */
  command: string;
  by: string;
  at: string;
  reason?: string;
}

/** Conditional writes on role items. Tokens only grow: a release keeps the item's token. */
export interface RoleLeases {
  /**
   * Takes `role` for `holder` until `expiresAt` when it is free (never held, released) or its
   * lease ended at or before `now`; the token becomes the previous one plus one.
   * @returns the new lease, or undefined when someone else holds it.
   */
  acquire(role: string, holder: string, now: number, expiresAt: number): Promise<Lease | undefined>;
  /** Moves the lease's end to `expiresAt` if `token` still holds the role. @returns whether it did. */
  renew(role: string, token: number, now: number, expiresAt: number): Promise<Lease | undefined>;
  /** Frees the role if `token` holds it. @returns whether it did. */
  release(role: string, token: number, now: number): Promise<boolean>;
  get(role: string): Promise<Lease | undefined>;
  list(): Promise<Lease[]>;
}

/** Who holds a role, as every protected write states it. */
export interface Fence {
  role: string;
  token: number;
}

/**
 * Runs code whose storage writes carry `fence`: each write is conditioned on the token, and
 * refused (RoleLostError) when a holder with a later token has written there, or when the role
 * has moved on.
 */
export interface FenceScope {
  run<T>(fence: Fence, fn: () => Promise<T>): Promise<T>;
}

/** The audit log of admin commands. */
export interface AuditLog {
  /** Records a new command (first write of its life). */
  begin(record: CommandRecord): Promise<void>;
  /** Records how it ended: its state, operations and result. */
  finish(record: CommandRecord): Promise<void>;
  get(id: string): Promise<CommandRecord | undefined>;
  /** Newest first, at most `limit`, after `cursor` (the last id of the previous page). */
  list(limit: number, cursor?: string): Promise<{ commands: CommandRecord[]; cursor?: string }>;
}

/** Freeze marks: the vault's (which writers check) and each unit's. */
export interface FreezeStore {
  get(vault: string): Promise<Freeze | undefined>;
  /** @returns whether the mark was new (false: already frozen). */
  freezeVault(freeze: Freeze): Promise<boolean>;
  /** @returns whether a mark was removed. */
  unfreezeVault(vault: string): Promise<boolean>;
  /** Records that `unit` refuses slices of `vault`. @returns whether the mark was new. */
  freezeUnit(vault: string, unit: number, command: string, at: string): Promise<boolean>;
  /** @returns whether a mark was removed. */
  unfreezeUnit(vault: string, unit: number): Promise<boolean>;
  /** The freeze mark of `unit` for `vault`, when it has one. */
  unitFreeze(vault: string, unit: number): Promise<{ command: string; at: string } | undefined>;
  /** The units of `vault` with a freeze mark. */
  frozenUnits(vault: string): Promise<number[]>;
}

/** A change of a vault's topology, as the topology routes and the admin commands name it. */
export type TopologyChange =
  | { replace: { unit: number; with: number } }
  | { drain: number }
  | { width: number; readThreshold: number; writeThreshold: number; segmentSize?: number };

/** Proposals of topology changes, voted on by the vault's units (built on the topology branch). */
export interface TopologyChanges {
  propose(
    vault: string,
    change: TopologyChange,
    principal: string,
  ): Promise<{ proposal: string; job?: string; operations: Operation[] }>;
}

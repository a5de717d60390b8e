/**
 * What the topology system speaks to: the leases of singleton roles, the scope that makes a
 * holder's writes carry its fencing token, the audit log of admin commands, the freeze marks of
 * vaults and their units, topologies and their proposals, the proposal broadcast to units, the
 * jobs that move data onto a new topology, and the manifests they relocate.
 * `shared/aws/topology/` implements them on DynamoDB, SNS and SQS.
 */

import type { IndexEntry } from '../store/index.ts';
import type { TopologyChange } from './change.ts';
import type { CommandRecord, Operation } from './command-record.ts';
import type { ProposalMessage, ProposalRecord, ProposalState } from './proposal.ts';
import type { Topology } from './topology.ts';
import type { TopologyJob } from './topology-job.ts';

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

/** Proposals of topology changes, voted on by the vault's units: what the admin commands call. */
export interface TopologyChanges {
  propose(
    vault: string,
    change: TopologyChange,
    principal: string,
  ): Promise<{ proposal: string; job?: string; operations: Operation[] }>;
}

/** The vault's current topology as its record says: id and since when (epoch ms). */
export interface CurrentTopology {
  id?: string;
  since?: number;
}

/** Stored topologies and proposals, their votes, and the vault's pointer to its current one. */
export interface TopologyStore {
  get(vault: string, id: string): Promise<ProposalRecord | undefined>;
  /** Every topology stored for the vault, oldest first. */
  list(vault: string): Promise<ProposalRecord[]>;
  /** Stores a record unless one with its id is there already (idempotent). */
  put(record: ProposalRecord): Promise<void>;
  /**
   * Opens `record` as the one open proposal on its parent, in one conditional write: the id of
   * the other proposal when one is open on that parent already (nothing is stored then), else
   * undefined. Opening the same proposal twice is not a conflict.
   */
  open(record: ProposalRecord): Promise<string | undefined>;
  /**
   * Adds `unit`'s vote while the proposal is open (a conditional write; a repeated vote changes
   * nothing); the record afterwards, undefined when it is not stored.
   */
  vote(vault: string, id: string, unit: number): Promise<ProposalRecord | undefined>;
  /** Records a unit's refusal with its reason. */
  refuse(vault: string, id: string, unit: number, reason: string): Promise<void>;
  /** Sets a record's state (and `currentSince` when given); frees its parent's open slot. */
  settle(vault: string, id: string, state: ProposalState, currentSince?: number): Promise<void>;
  /**
   * Marks proposal `id` `expired` only if it is still `open` (a conditional write, so a decided
   * proposal keeps its state), then frees its parent's open slot if the slot is still this
   * proposal's. Votes count only while open, so an expired proposal can no longer win. A slot
   * a decided proposal still holds (a settle or expire that stopped between its two writes) is
   * freed too. With no record of `id` stored, `parent`'s slot is freed if `id` holds it: an
   * opener that died between taking the slot and storing its record. Idempotent.
   * @returns whether this call expired it.
   */
  expire(vault: string, id: string, parent?: string | null): Promise<boolean>;
  /** The vault's current topology id, read afresh. @throws VaultNotFoundError */
  current(vault: string): Promise<CurrentTopology>;
  /**
   * Points the vault at topology `id` (and takes its units and geometry) only if it points at
   * `from` now (`undefined`: at none yet), in one conditional write. @returns whether it did.
   */
  switchVault(
    vault: string,
    from: string | undefined,
    to: { id: string; topology: Topology; since: number },
  ): Promise<boolean>;
}

/** Carries a proposal to the units that vote on it (each unit's queue, through the network). */
export interface ProposalBroadcast {
  send(message: ProposalMessage, units: number[]): Promise<void>;
}

/** Topology jobs, one per vault (the latest), with a lease so one invocation works on it. */
export interface TopologyJobStore {
  get(vault: string): Promise<TopologyJob | undefined>;
  /**
   * Stores `job` as the vault's job unless that job (same id) or a newer topology's (a later
   * `since`) is there already; returns the job in force.
   */
  start(job: TopologyJob): Promise<TopologyJob>;
  /** Takes job `id`'s lease for `holder` until `until`, unless another holder's runs past `now`. */
  lease(vault: string, id: string, holder: string, until: number, now: number): Promise<boolean>;
  /** Saves progress while `holder` holds the lease (renewing it to `until`); false when it lost it. */
  save(job: TopologyJob, holder: string, until: number | 'release'): Promise<boolean>;
  /**
   * Counts a write under an older topology than job `id`'s, indexed late, beside the job so that
   * no save of it undoes the count; `get` answers it as the job's `lateWrites`. Nothing when the
   * vault's job is another's.
   */
  noteLateWrite(vault: string, id: string): Promise<void>;
  /**
   * Makes job `id`, done while late writes were counted after its last pass began, runnable
   * again (leasable). Idempotent: true again until a step takes it up. False otherwise.
   */
  reopen(vault: string, id: string): Promise<boolean>;
}

/** Makes a topology job carry on in a fresh invocation. */
export interface TopologyJobTrigger {
  continue(vault: string, id: string): Promise<void>;
}

/** Manifests moved by a unit replacement: the key's entry and its revision's record. */
export interface ManifestStore {
  /**
   * Points the manifest of `entry.revision` at `units` (pillar i on units[i]), only while it
   * is on `entry.units` (or already on `units`), and in the index only while the key still
   * names that revision. @returns true when the index entry points there; false when the key
   * moved on to another revision; 'stale' when another relocation came between (a newer
   * topology's job), and nothing was changed.
   */
  relocate(entry: IndexEntry, units: number[]): Promise<boolean | 'stale'>;
}

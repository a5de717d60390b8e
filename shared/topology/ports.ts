/** The ports of the topology system; `shared/aws/topology/` implements them. */
import type { IndexEntry } from '../store/index.ts';
import type { ProposalMessage, ProposalRecord, ProposalState } from './proposal.ts';
import type { Topology } from './topology.ts';
import type { TopologyJob } from './topology-job.ts';

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
  /** Stores `job` as the vault's job unless that job (same id) is there already; returns the job in force. */
  start(job: TopologyJob): Promise<TopologyJob>;
  /** Takes job `id`'s lease for `holder` until `until`, unless another holder's runs past `now`. */
  lease(vault: string, id: string, holder: string, until: number, now: number): Promise<boolean>;
  /** Saves progress while `holder` holds the lease (renewing it to `until`); false when it lost it. */
  save(job: TopologyJob, holder: string, until: number | 'release'): Promise<boolean>;
}

/** Makes a topology job carry on in a fresh invocation. */
export interface TopologyJobTrigger {
  continue(vault: string, id: string): Promise<void>;
}

/** Manifests moved by a unit replacement: the key's entry and its revision's record. */
export interface ManifestStore {
  /**
   * Points the manifest of `entry.revision` at `units` (pillar i on units[i]), in the index
   * only while the key still names that revision. @returns whether the index entry changed.
   */
  relocate(entry: IndexEntry, units: number[]): Promise<boolean>;
}

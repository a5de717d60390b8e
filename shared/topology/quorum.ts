/**
 * Change by quorum. A proposal (a new topology whose parent is the vault's current one) is
 * stored under its hash and sent to the parent's units. Each unit's function checks it (its
 * hash, that its parent is the vault's current topology, that it is well-formed, that the unit
 * is a voter) and votes with a conditional write. The vote that brings the count to the parent's
 * `T` points the vault at the proposal with a conditional write on the vault's current id, so
 * of competing proposals with the same parent at most one can win. Every step is idempotent:
 * a proposal message delivered twice votes once. A proposal that can no longer win (too old, or
 * refused by more than `n - T` units) is expired, which frees its parent for the next one.
 */
import type { Clock } from '../clock.ts';
import { InvalidParameterError, TopologyConflictError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Vault, VaultStore } from '../store/index.ts';
import { applyChange, type TopologyChange } from './change.ts';
import type { ProposalBroadcast, TopologyJobStore, TopologyStore } from './ports.ts';
import {
  type ProposalMessage,
  type ProposalRecord,
  type ProposalState,
  proposalExpiresAt,
  whyExpired,
} from './proposal.ts';
import {
  genesisTopology,
  type PoolView,
  parseTopology,
  shortId,
  topologyId,
  unitNumbers,
} from './topology.ts';

export interface TopologyDeps {
  /** Read afresh (uncached): a proposal's parent must be the vault's current topology now. */
  vaults: VaultStore;
  topologies: TopologyStore;
  broadcast: ProposalBroadcast;
  poolSize: number;
  pool: PoolView;
  /** Units of the pool that hold pre-positioned slices only: never a vault's. */
  edgeUnits?: readonly number[];
  clock: Clock;
  /** Called once a proposal that moves data has become current (starts its job). */
  onCurrent?: (record: ProposalRecord, parent: ProposalRecord) => Promise<string | undefined>;
  /** The vault's latest job: no change is proposed while one still moves data. */
  jobs?: Pick<TopologyJobStore, 'get'>;
}

/** One per-unit operation a change performed, for an audit record. */
export interface UnitOperation {
  unit: number;
  operation: string;
  outcome: string;
}

/**
 * The vault's current topology, recording its genesis topology first (parent null, the layout
 * it was created with) when it has none yet. Idempotent: racing callers agree on the genesis id.
 * @throws VaultNotFoundError
 */
export async function ensureTopology(
  deps: Pick<TopologyDeps, 'vaults' | 'topologies' | 'pool' | 'clock'>,
  vaultName: string,
): Promise<ProposalRecord> {
  const vault: Vault = await deps.vaults.get(vaultName);
  if (vault.topology !== undefined) {
    const found = await deps.topologies.get(vaultName, vault.topology);
    if (found) return found;
  }
  const topology = genesisTopology(vault, deps.pool);
  const id = topologyId(topology);
  const record: ProposalRecord = {
    vault: vaultName,
    id,
    topology,
    state: 'current',
    votes: [],
    refusals: [],
    createdAt: deps.clock.date().toISOString(),
    // Writes begun before it was recorded carry no topology id: the units' grace starts now.
    currentSince: deps.clock.now(),
  };
  await deps.topologies.put(record);
  if (vault.topology === undefined) {
    const since = record.currentSince ?? 0;
    if (!(await deps.topologies.switchVault(vaultName, undefined, { id, topology, since }))) {
      // Another caller recorded it first (the same genesis) or a change already won.
      return ensureTopology(deps, vaultName);
    }
  }
  return record;
}

export interface ProposeResult {
  proposal: ProposalRecord;
  operations: UnitOperation[];
}

/**
 * Proposes `change` to `vault`'s topology on behalf of `principal` (a key id, for the record):
 * stores the proposal, and sends it to the current units to vote on. The command path calls
 * this as the HTTP route does.
 * An open proposal on the current topology that can no longer win (`whyExpired`) is expired
 * and this one opened in its place.
 * @throws InvalidParameterError (a change that breaks a rule), TopologyConflictError (another
 * proposal on the current topology is open and not expired), VaultNotFoundError
 */
export async function proposeChange(
  deps: TopologyDeps,
  vault: string,
  change: TopologyChange,
  principal?: string,
): Promise<ProposeResult> {
  const current = await ensureTopology(deps, vault);
  // One move at a time: a change on top of a half-moved vault would leave the first one's
  // objects on the units it was moving them off.
  const job = await deps.jobs?.get(vault);
  if (job?.state === 'running') throw new TopologyConflictError(vault, job.id, 'job');
  const usage = Array.from({ length: deps.poolSize }, () => 0);
  for (const v of await deps.vaults.list()) for (const u of v.units) usage[u] = (usage[u] ?? 0) + 1;
  const topology = applyChange(
    current.topology,
    change,
    deps.poolSize,
    deps.pool,
    usage,
    deps.edgeUnits,
  );
  const id = topologyId(topology);
  const proposal: ProposalRecord = {
    vault,
    id,
    topology,
    state: 'open',
    votes: [],
    refusals: [],
    createdAt: deps.clock.date().toISOString(),
    change: change.kind,
    ...(principal === undefined ? {} : { proposer: principal }),
  };
  const open = await deps.topologies.open(proposal);
  if (open !== undefined) {
    await expireBlocking(deps, current, open);
    const again = await deps.topologies.open(proposal);
    // Another caller opened one in between: it is as young as this one, so it may still win.
    if (again !== undefined)
      throw conflictWith(vault, again, await deps.topologies.get(vault, again));
  }
  const voters = unitNumbers(current.topology);
  const message: ProposalMessage = {
    v: 1,
    kind: 'topology-proposal',
    vault,
    address: `vault/${vault}`,
    proposal: id,
    topology,
  };
  await deps.broadcast.send(message, voters);
  return {
    proposal,
    operations: voters.map((unit) => ({
      unit,
      operation: `vote on ${change.kind} proposal ${shortId(id)}`,
      outcome: 'proposal sent',
    })),
  };
}

/**
 * Expires proposal `id`, the open one on `parent`, when it can no longer win (`whyExpired`);
 * when it was decided already (a slot left behind by a settle that stopped half-way), frees
 * its slot. Either way the caller may open its own proposal once more.
 * @throws TopologyConflictError when it may still win, with when it expires
 */
async function expireBlocking(
  deps: Pick<TopologyDeps, 'topologies' | 'clock'>,
  parent: ProposalRecord,
  id: string,
): Promise<void> {
  let blocking = await deps.topologies.get(parent.vault, id);
  if (blocking === undefined) {
    // A slot with no record: its opener stores the record right after taking the slot, so
    // one still missing a moment later belongs to an opener that died in between (its caller
    // got no proposal id). Its slot is freed; at worst a slow opener's proposal and the next
    // one both stay open, and the conditional switch still lets only one of them win.
    await deps.clock.sleep(ORPHAN_SLOT_MS);
    blocking = await deps.topologies.get(parent.vault, id);
    if (blocking === undefined) {
      await deps.topologies.expire(parent.vault, id, parent.id);
      return;
    }
  }
  const mayWin =
    blocking.state === 'open' && whyExpired(blocking, parent, deps.clock.now()) === undefined;
  if (mayWin) throw conflictWith(parent.vault, id, blocking);
  await deps.topologies.expire(parent.vault, id);
}

/** How long a slot may name a proposal with no stored record before it counts as orphaned. */
export const ORPHAN_SLOT_MS = 2000;

/** The 409 for open proposal `id`, with when it expires when its record (`blocking`) is known. */
function conflictWith(
  vault: string,
  id: string,
  blocking: ProposalRecord | undefined,
): TopologyConflictError {
  const expiresAt = blocking && new Date(proposalExpiresAt(blocking));
  return new TopologyConflictError(vault, id, 'proposal', expiresAt);
}

export interface VoterDeps {
  unit: number;
  topologies: TopologyStore;
  clock: Clock;
  log: Logger;
  onCurrent?: TopologyDeps['onCurrent'];
}

export type VoteOutcome = 'accepted' | 'refused' | 'applied' | 'lost' | 'decided';

/**
 * A unit's vote on a proposal it received. It accepts only a stored proposal whose hash is its
 * id, whose parent is the vault's current topology, and whose parent counts this unit among its
 * units; the vote that reaches the parent's `T` applies it. Idempotent.
 */
export async function voteOnProposal(
  deps: VoterDeps,
  message: ProposalMessage,
): Promise<VoteOutcome> {
  const { vault, proposal } = message;
  const refuse = async (reason: string): Promise<VoteOutcome> => {
    deps.log.warn('topology proposal refused', { vault, proposal, unit: deps.unit, reason });
    await deps.topologies.refuse(vault, proposal, deps.unit, reason);
    // Not waiting for the next proposal (or the TTL) to free the parent for another change.
    await expireIfRefusedOut(deps, vault, proposal);
    return 'refused';
  };
  let topology: ReturnType<typeof parseTopology>;
  try {
    topology = parseTopology(message.topology);
  } catch (err) {
    if (err instanceof InvalidParameterError) return refuse(err.message);
    throw err;
  }
  if (topologyId(topology) !== proposal)
    return refuse(`the document's SHA-256 is not the proposal id ${shortId(proposal)}`);
  const stored = await deps.topologies.get(vault, proposal);
  if (!stored) return refuse('no such proposal is stored for the vault');
  if (stored.state === 'current' && topology.parent !== null) {
    // Applied, but the applier may have stopped before its parent was superseded or its job
    // started: every vote delivered after (a redelivery, a late unit) finishes that. Each step
    // is idempotent; a job already started (or done) is not started again.
    const parent = await deps.topologies.get(vault, topology.parent);
    if (parent) await finishApplying(deps, stored, parent);
    return 'decided';
  }
  if (stored.state !== 'open') return 'decided';
  const current = await deps.topologies.current(vault);
  if (current.id === proposal && topology.parent !== null) {
    // Applied, but the applier stopped before recording it: finish that (each step is idempotent).
    const parent = await deps.topologies.get(vault, topology.parent);
    if (parent) return applyProposal(deps, stored, parent);
  }
  if (topology.parent !== current.id)
    return refuse(
      `its parent ${shortId(topology.parent ?? 'null')} is not the vault's current topology ${shortId(current.id ?? 'none')}`,
    );
  const parent =
    current.id === undefined ? undefined : await deps.topologies.get(vault, current.id);
  if (!parent) return refuse('the current topology is not stored');
  if (!unitNumbers(parent.topology).includes(deps.unit))
    return refuse(`unit ${deps.unit} is not a unit of the current topology`);
  if (await expireIfDue(deps, stored, parent)) return 'decided';
  const after = await deps.topologies.vote(vault, proposal, deps.unit);
  if (!after) return 'decided';
  if (after.state !== 'open' || after.votes.length < parent.topology.writeThreshold)
    return 'accepted';
  return applyProposal(deps, after, parent);
}

/** Expires proposal `id` once its refusals leave fewer than `T` of its parent's units to accept it. */
async function expireIfRefusedOut(
  deps: Pick<VoterDeps, 'topologies' | 'clock' | 'log'>,
  vault: string,
  id: string,
): Promise<void> {
  const stored = await deps.topologies.get(vault, id);
  const parentId = stored?.state === 'open' ? stored.topology.parent : null;
  const parent = parentId ? await deps.topologies.get(vault, parentId) : undefined;
  if (stored && parent) await expireIfDue(deps, stored, parent);
}

/** Expires open `proposal` if it can no longer win (`whyExpired`). @returns whether it could not. */
async function expireIfDue(
  deps: Pick<VoterDeps, 'topologies' | 'clock' | 'log'>,
  proposal: ProposalRecord,
  parent: ProposalRecord,
): Promise<boolean> {
  const why = whyExpired(proposal, parent, deps.clock.now());
  if (why === undefined) return false;
  if (await deps.topologies.expire(proposal.vault, proposal.id))
    deps.log.info('topology proposal expired', {
      vault: proposal.vault,
      proposal: proposal.id,
      why,
    });
  return true;
}

/**
 * Points the vault at `proposal` if it still points at its parent (one conditional write); the
 * proposal becomes current and the parent superseded, or the proposal is lost when another won.
 *
 * The proposal may have expired since its `T`-th vote landed (a new proposal found it past its
 * TTL in between). The switch is the truth: it becomes current all the same. That is safe
 * because the switch is conditional on the parent being current, so of the proposals on one
 * parent (the expired one and any opened in its place) still at most one wins.
 */
export async function applyProposal(
  deps: Pick<VoterDeps, 'topologies' | 'clock' | 'log' | 'onCurrent'>,
  proposal: ProposalRecord,
  parent: ProposalRecord,
): Promise<VoteOutcome> {
  const { vault, id } = proposal;
  const since = deps.clock.now();
  const switched = await deps.topologies.switchVault(vault, parent.id, {
    id,
    topology: proposal.topology,
    since,
  });
  const now = await deps.topologies.current(vault);
  if (!switched && now.id !== id) {
    await deps.topologies.settle(vault, id, 'lost');
    deps.log.info('topology proposal lost', { vault, proposal: id, current: now.id });
    return 'lost';
  }
  // Whatever state it was left in (open, or expired since): the vault points at it.
  const currentSince = now.since ?? since;
  await deps.topologies.settle(vault, id, 'current', currentSince);
  deps.log.info('topology applied', { vault, topology: id, parent: parent.id });
  await finishApplying(deps, { ...proposal, state: 'current', currentSince }, parent);
  return 'applied';
}

/** What follows a proposal becoming current: its parent superseded, and its job started. */
async function finishApplying(
  deps: Pick<VoterDeps, 'topologies' | 'onCurrent'>,
  current: ProposalRecord,
  parent: ProposalRecord,
): Promise<void> {
  await deps.topologies.settle(current.vault, parent.id, 'superseded');
  if (deps.onCurrent) await deps.onCurrent(current, parent);
}

/** One topology as `GET /vaults/{vault}/topology` shows it. */
export interface TopologySummary {
  id: string;
  parent: string | null;
  units: number[];
  width: number;
  readThreshold: number;
  writeThreshold: number;
  segmentSize: number;
  votes: number[];
  state: ProposalState;
  createdAt: string;
  change?: string;
}

/** The vault's current topology id and every stored topology of it, oldest first. */
export async function topologyView(
  deps: Pick<TopologyDeps, 'vaults' | 'topologies' | 'pool' | 'clock'>,
  vault: string,
): Promise<{ current: string; topologies: TopologySummary[] }> {
  await ensureTopology(deps, vault);
  const { id } = await deps.topologies.current(vault);
  const all = await deps.topologies.list(vault);
  return {
    current: id ?? '',
    topologies: all.map((r) => ({
      id: r.id,
      parent: r.topology.parent,
      units: unitNumbers(r.topology),
      width: r.topology.width,
      readThreshold: r.topology.readThreshold,
      writeThreshold: r.topology.writeThreshold,
      segmentSize: r.topology.segmentSize,
      votes: r.votes,
      state: r.state,
      createdAt: r.createdAt,
      ...(r.change === undefined ? {} : { change: r.change }),
    })),
  };
}

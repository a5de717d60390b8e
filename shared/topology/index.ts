/**
 * Topology (seed 004): content-addressed vault topologies, proposals and the units' votes on
 * them, and the jobs that move data onto a new one; leased management roles with fencing
 * tokens; and the one control path (admin commands, their per-unit operations, their audit
 * log). Other systems and the handlers import this file only. The command path calls
 * `proposeChange`; the units call `voteOnProposal`.
 */
export {
  applyChange,
  parseTopologyChange,
  type TopologyChange,
  topologyChangeSchema,
} from './change.ts';
export {
  type CommandRecord,
  type CommandState,
  commandId,
  type Operation,
} from './command-record.ts';
export {
  COMMAND_NAMES,
  COMMANDS,
  type CommandDeps,
  type CommandName,
  commandOf,
  commandsQuerySchema,
  getCommand,
  listCommands,
  MAX_COMMANDS_PAGE,
  runCommand,
} from './commands.ts';
export {
  assertWritable,
  FREEZE_CACHE_MS,
  FREEZE_SETTLE_MS,
  type Freeze,
  FreezeGate,
  notFrozenCache,
} from './freeze.ts';
export { resumeTopologyJobs, startTopologyJob } from './job-schedule.ts';
export {
  acquireRole,
  checkRole,
  DEFAULT_LEASE_MS,
  forceRelease,
  type HeldRole,
  type Lease,
  listRoles,
  type PublicLease,
  publicLease,
  ROLES,
  type RoleDeps,
  type RoleName,
  type RoleRun,
  withRole,
} from './lease.ts';
export { LANES, type MoverDeps, runTopologyJobStep } from './mover.ts';
export type {
  AuditLog,
  CurrentTopology,
  Fence,
  FenceScope,
  FreezeStore,
  ManifestStore,
  ProposalBroadcast,
  RoleLeases,
  TopologyChanges,
  TopologyJobStore,
  TopologyJobTrigger,
  TopologyStore,
} from './ports.ts';
export {
  isProposalMessage,
  PROPOSAL_STATES,
  PROPOSAL_TTL_MS,
  type ProposalMessage,
  type ProposalRecord,
  type ProposalState,
  parseProposalMessage,
  proposalMessageSchema,
} from './proposal.ts';
export {
  applyProposal,
  ensureTopology,
  ORPHAN_SLOT_MS,
  type ProposeResult,
  proposeChange,
  type TopologyDeps,
  type TopologySummary,
  topologyView,
  type UnitOperation,
  type VoteOutcome,
  type VoterDeps,
  voteOnProposal,
} from './quorum.ts';
export {
  canonicalJson,
  genesisTopology,
  type PoolView,
  parseTopology,
  type Topology,
  type TopologyUnit,
  topologyId,
  topologySchema,
  unitNumbers,
} from './topology.ts';
export {
  parseTopologyJobMessage,
  publicTopologyJob,
  type TopologyJob,
  type TopologyJobMessage,
} from './topology-job.ts';

/**
 * Topology by quorum (seed 004): content-addressed vault topologies, proposals and the units'
 * votes on them. Other systems and the handlers import this file only. The command path calls
 * `proposeChange`; the units call `voteOnProposal`.
 */
export {
  applyChange,
  parseTopologyChange,
  type TopologyChange,
  topologyChangeSchema,
} from './change.ts';
export {
  type MoverDeps,
  resumeTopologyJobs,
  runTopologyJobStep,
  startTopologyJob,
} from './mover.ts';
export type {
  CurrentTopology,
  ManifestStore,
  ProposalBroadcast,
  TopologyJobStore,
  TopologyJobTrigger,
  TopologyStore,
} from './ports.ts';
export {
  isProposalMessage,
  type ProposalMessage,
  type ProposalRecord,
  type ProposalState,
  parseProposalMessage,
  proposalMessageSchema,
} from './proposal.ts';
export {
  applyProposal,
  ensureTopology,
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

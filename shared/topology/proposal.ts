/**
 * Proposals: a new topology whose parent is the vault's current one, stored under its hash, and
 * the votes the current units cast on it. A proposal is `open` until `T` of the parent's units
 * have accepted it and it became the vault's topology (`current`), another proposal with the
 * same parent won (`lost`), or it can no longer win (`expired`: too old, or refused by too many
 * units). A current topology becomes `superseded` when its child takes over.
 * The message that carries a proposal to the units has a strict schema, as every unit message.
 */
import { z } from 'zod';
import { nonEmptyString, parseJsonWith, strictObject } from '../validate.ts';
import { type Topology, topologySchema, unitNumbers } from './topology.ts';

export const PROPOSAL_STATES = ['open', 'current', 'superseded', 'lost', 'expired'] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];

/**
 * How long a proposal stays open at most, from its `createdAt`: ten minutes is far beyond the
 * seconds a vote takes over the network, so a proposal this old lost its votes on the way.
 */
export const PROPOSAL_TTL_MS = 10 * 60_000;

/** A stored topology with its votes: a proposal, or a topology that was (or is) a vault's. */
export interface ProposalRecord {
  vault: string;
  id: string;
  topology: Topology;
  state: ProposalState;
  /** Units of the parent topology that accepted it, ascending. */
  votes: number[];
  /** Units that refused it, with why. */
  refusals: Array<{ unit: number; reason: string }>;
  createdAt: string;
  /** When it became current (epoch ms): writes begun after this must use it. */
  currentSince?: number;
  /** What was asked: replace, drain or restripe; absent on a genesis topology. */
  change?: string;
  /** Who proposed it (a principal's key id). */
  proposer?: string;
}

/** When an open proposal expires by age (epoch ms). */
export function proposalExpiresAt(proposal: ProposalRecord): number {
  return Date.parse(proposal.createdAt) + PROPOSAL_TTL_MS;
}

/**
 * Why an open proposal can no longer win, if it cannot: `age` once it is `PROPOSAL_TTL_MS` old
 * at `now`; `unreachable` once more of `parent`'s units refused it than `width - T`, so fewer
 * than `T` are left to accept it. Only distinct units of the parent that did not vote for it
 * count as refusing (a unit outside the parent may refuse, but never had a vote).
 */
export function whyExpired(
  proposal: ProposalRecord,
  parent: ProposalRecord,
  now: number,
): 'age' | 'unreachable' | undefined {
  if (now >= proposalExpiresAt(proposal)) return 'age';
  const voters = unitNumbers(parent.topology);
  const refusing = new Set(
    proposal.refusals
      .map((r) => r.unit)
      .filter((u) => voters.includes(u) && !proposal.votes.includes(u)),
  );
  return refusing.size > voters.length - parent.topology.writeThreshold ? 'unreachable' : undefined;
}

/** What the units receive to vote on: the document itself, so each can check its hash. */
export interface ProposalMessage {
  v: 1;
  kind: 'topology-proposal';
  vault: string;
  /** The vault's multicast address, as on slice messages. */
  address: string;
  proposal: string;
  topology: Topology;
}

export const proposalMessageSchema: z.ZodType<ProposalMessage> = strictObject(
  {
    v: z.literal(1, { error: 'must be 1' }),
    kind: z.literal('topology-proposal', { error: 'must be "topology-proposal"' }),
    vault: nonEmptyString(),
    address: nonEmptyString(),
    proposal: nonEmptyString(),
    topology: topologySchema,
  },
  'a proposal message field',
);

/** Whether a unit queue's message body is a proposal (it is JSON with this `kind`). */
export function isProposalMessage(body: string): boolean {
  return body.includes('"kind":"topology-proposal"');
}

/** Parses a proposal message. @throws InvalidParameterError naming the bad field. */
export function parseProposalMessage(body: string): ProposalMessage {
  return parseJsonWith(proposalMessageSchema, body, { name: 'proposal', qualified: true });
}

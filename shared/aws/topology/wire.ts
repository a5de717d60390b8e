/**
 * The topology system's wiring: what the API needs to propose changes and show topologies, and
 * what a unit's function needs to vote.
 */
import { loadConfig, POOL_SECTION } from '../../config.ts';
import type { PoolView, TopologyDeps, VoterDeps } from '../../topology/index.ts';
import type { Runtime } from '../runtime.ts';
import { DynamoVaultStore } from '../store/vault-store.ts';
import { SnsProposalBroadcast } from './broadcast.ts';
import { DynamoTopologyStore } from './topology-store.ts';

function wireStore(rt: Runtime) {
  const config = loadConfig(rt.env, ['controlTable', 'vaultsTable']);
  return new DynamoTopologyStore(rt.clients.documents, config.controlTable, config.vaultsTable);
}

/** Where each unit of the pool is: its bucket, region and the S3 endpoint this runtime uses. */
function poolView(rt: Runtime): { poolSize: number; pool: PoolView } {
  const pool = loadConfig(rt.env, POOL_SECTION);
  const endpoint = rt.env.AWS_ENDPOINT_URL_S3 ?? rt.env.AWS_ENDPOINT_URL ?? '';
  return {
    poolSize: pool.unitBuckets.length,
    pool: (unit) => ({
      bucket: pool.unitBuckets[unit] ?? '',
      region: pool.unitRegions[unit] ?? '',
      endpoint,
    }),
  };
}

/** Proposing changes and showing topologies (the API, and later the command path). */
export function wireTopology(rt: Runtime): TopologyDeps {
  const config = loadConfig(rt.env, ['vaultsTable', 'networkTopicArn']);
  return {
    // Uncached: a proposal's parent must be the vault's topology now.
    vaults: new DynamoVaultStore(rt.clients.documents, config.vaultsTable),
    topologies: wireStore(rt),
    broadcast: new SnsProposalBroadcast(rt.clients.sns, config.networkTopicArn),
    ...poolView(rt),
    clock: rt.clock,
  };
}

/** A unit's vote: its index and the store it votes in. */
export function wireVoter(rt: Runtime, unit: number): VoterDeps {
  return { unit, topologies: wireStore(rt), clock: rt.clock, log: rt.log };
}

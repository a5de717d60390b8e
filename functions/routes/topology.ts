/**
 * The topology system's routes: propose a change to a vault's topology, show its topologies,
 * and show the job that moves its data onto the current one.
 */
import type { wireTopology } from '../../shared/aws/topology/wire.ts';
import { TopologyJobNotFoundError } from '../../shared/errors.ts';
import {
  parseTopologyChange,
  proposeChange,
  publicTopologyJob,
  topologyView,
} from '../../shared/topology/index.ts';
import { json, jsonBody, principalOf, type Route } from '../http.ts';
import { vaultParam } from './store.ts';

export function topologyRoutes(deps: ReturnType<typeof wireTopology>): Record<string, Route> {
  return {
    'POST /vaults/{vault}/topology': async (event) => {
      const vault = vaultParam(event);
      const change = parseTopologyChange(jsonBody(event));
      const result = await proposeChange(deps, vault, change, principalOf(event).accessKeyId);
      // The job starts once the proposal is current; its id is the proposal's.
      return json(202, { proposal: result.proposal.id, job: result.proposal.id });
    },
    'GET /vaults/{vault}/topology': async (event) => {
      const vault = vaultParam(event);
      const [view, job] = await Promise.all([topologyView(deps, vault), deps.jobs.get(vault)]);
      return json(200, { ...view, ...(job ? { job: publicTopologyJob(job) } : {}) });
    },
    'GET /vaults/{vault}/topology/job': async (event) => {
      const vault = vaultParam(event);
      const job = await deps.jobs.get(vault);
      if (job) return json(200, publicTopologyJob(job));
      await deps.vaults.get(vault); // an unknown vault is a 404 of its own
      throw new TopologyJobNotFoundError(vault);
    },
  };
}

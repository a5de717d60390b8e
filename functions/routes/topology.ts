/** The topology system's routes: propose a change to a vault's topology, and show its topologies. */
import type { wireTopology } from '../../shared/aws/topology/wire.ts';
import { parseTopologyChange, proposeChange, topologyView } from '../../shared/topology/index.ts';
import { json, jsonBody, principalOf, type Route } from '../http.ts';
import { vaultParam } from './store.ts';

export function topologyRoutes(deps: ReturnType<typeof wireTopology>): Record<string, Route> {
  return {
    'POST /vaults/{vault}/topology': async (event) => {
      const vault = vaultParam(event);
      const change = parseTopologyChange(jsonBody(event));
      const result = await proposeChange(deps, vault, change, principalOf(event).accessKeyId);
      return json(202, { proposal: result.proposal.id });
    },
    'GET /vaults/{vault}/topology': async (event) =>
      json(200, await topologyView(deps, vaultParam(event))),
  };
}

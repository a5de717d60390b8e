/**
 * The topology system's routes: propose a change to a vault's topology, show its topologies,
 * and show the job that moves its data onto the current one.
 */
import type { wireTopology } from '../../shared/aws/topology/wire.ts';
import { TopologyJobNotFoundError } from '../../shared/errors.ts';
import {
  type CommandDeps,
  commandOf,
  parseTopologyChange,
  publicTopologyJob,
  runCommand,
  topologyView,
} from '../../shared/topology/index.ts';
import { json, jsonBody, principalOf, type Route } from '../http.ts';
import { vaultParam } from './store.ts';

/**
 * @param commands the control path: a change proposed here is the admin command that makes it
 * (`unit.replace`, `unit.drain`, `vault.restripe`), recorded in the audit log like any.
 */
export function topologyRoutes(
  deps: ReturnType<typeof wireTopology>,
  commands: CommandDeps,
): Record<string, Route> {
  return {
    'POST /vaults/{vault}/topology': async (event) => {
      const vault = vaultParam(event);
      // The route's own rules first: its 400s name the body's fields.
      const change = parseTopologyChange(jsonBody(event));
      const record = await runCommand(
        commands,
        principalOf(event).accessKeyId,
        commandOf(vault, change),
      );
      const { proposal, job } = record.result as { proposal: string; job?: string };
      return json(202, { proposal, ...(job ? { job } : {}) });
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

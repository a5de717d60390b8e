/** The replication system's routes: start, list, show, restart and cancel jobs; list tasks; migrate a copy. */
import {
  type ContinuousDeps,
  cancelReplication,
  deleteReplicationRule,
  getReplicationRule,
  type JobsDeps,
  listReplications,
  listReplicationTasks,
  migrateReplicationTask,
  putReplicationRule,
  restartReplication,
  showReplication,
  startReplication,
} from '../../shared/replication/index.ts';
import { json, jsonBody, type Route } from '../http.ts';
import { vaultParam } from './store.ts';

export function replicationRoutes(
  deps: JobsDeps,
  continuous: ContinuousDeps,
): Record<string, Route> {
  const id = (event: Parameters<Route>[0]) => event.pathParameters?.id ?? '';
  return {
    'POST /replications': async (event) => json(202, await startReplication(deps, jsonBody(event))),
    'GET /replications': async (event) =>
      json(200, await listReplications(deps, event.queryStringParameters ?? {})),
    'GET /replications/{id}': async (event) => json(200, await showReplication(deps, id(event))),
    'GET /replications/{id}/tasks': async (event) =>
      json(200, await listReplicationTasks(deps, id(event), event.queryStringParameters ?? {})),
    'POST /replications/{id}/restart': async (event) =>
      json(202, await restartReplication(deps, id(event))),
    'POST /replications/{id}/cancel': async (event) =>
      json(202, await cancelReplication(deps, id(event))),
    'PUT /vaults/{vault}/replication': async (event) =>
      json(
        200,
        await putReplicationRule(
          { ...continuous, vaults: deps.vaults },
          vaultParam(event),
          jsonBody(event),
        ),
      ),
    'GET /vaults/{vault}/replication': async (event) =>
      json(200, await getReplicationRule(continuous, vaultParam(event))),
    'DELETE /vaults/{vault}/replication': async (event) => {
      await deleteReplicationRule(continuous, vaultParam(event));
      return { statusCode: 204 };
    },
    'POST /replications/{id}/tasks/{task}/migrate': async (event) =>
      json(
        202,
        await migrateReplicationTask(
          deps,
          id(event),
          event.pathParameters?.task ?? '',
          event.body ? jsonBody(event) : {},
        ),
      ),
  };
}

/** The listeners system's routes: create, list, show, renew and remove a vault's listeners. */
import type { RegistryDeps } from '../../shared/listeners/index.ts';
import {
  createListener,
  listenPathSchema,
  listListeners,
  removeListener,
  renewListener,
  showListener,
} from '../../shared/listeners/index.ts';
import { parseWith, resourceId } from '../../shared/validate.ts';
import { json, jsonBody, type Route } from '../http.ts';
import { vaultParam } from './store.ts';

/** A listener id as a client sends it back: bounded, checked before it becomes a table key. */
export const listenerIdSchema = resourceId();

function idParam(event: Parameters<Route>[0]): string {
  return parseWith(listenerIdSchema, event.pathParameters?.id, { name: 'id' });
}

export function listenerRoutes(deps: RegistryDeps): Record<string, Route> {
  return {
    'POST /vaults/{vault}/listeners': async (event) =>
      json(201, await createListener(deps, vaultParam(event), jsonBody(event))),
    'GET /vaults/{vault}/listeners': async (event) => {
      const raw = event.queryStringParameters?.path;
      const path =
        raw === undefined ? undefined : parseWith(listenPathSchema, raw, { name: 'path' });
      return json(200, { listeners: await listListeners(deps, vaultParam(event), path) });
    },
    'GET /vaults/{vault}/listeners/{id}': async (event) =>
      json(200, await showListener(deps, vaultParam(event), idParam(event))),
    'PATCH /vaults/{vault}/listeners/{id}': async (event) =>
      json(200, await renewListener(deps, vaultParam(event), idParam(event), jsonBody(event))),
    'DELETE /vaults/{vault}/listeners/{id}': async (event) => {
      await removeListener(deps, vaultParam(event), idParam(event));
      return { statusCode: 204 };
    },
  };
}

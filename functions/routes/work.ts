/** The work system's routes: add, list, show (or explain) and cancel a vault's work items. */
import { readerOf } from '../../shared/access/index.ts';
import type { wireWork } from '../../shared/aws/work/wire.ts';
import {
  addWork,
  cancelWork,
  explainWork,
  getWork,
  listWork,
  publicItem,
} from '../../shared/work/index.ts';
import { json, jsonBody, principalOf, type Route } from '../http.ts';
import { vaultParam } from './store.ts';

export function workRoutes(w: ReturnType<typeof wireWork>): Record<string, Route> {
  const id = (event: Parameters<Route>[0]) => event.pathParameters?.id ?? '';
  return {
    // Its op reads as the caller would: the scan gate applies to what it reads.
    'POST /vaults/{vault}/work': async (event) =>
      json(
        201,
        publicItem(
          await addWork(w, vaultParam(event), jsonBody(event), readerOf(principalOf(event))),
        ),
      ),
    'GET /vaults/{vault}/work': async (event) => {
      const page = await listWork(w, vaultParam(event), event.queryStringParameters ?? {});
      return json(200, { items: page.items.map(publicItem), cursor: page.cursor ?? null });
    },
    'GET /vaults/{vault}/work/{id}': async (event) => {
      if (event.queryStringParameters?.explain !== undefined)
        return json(200, await explainWork(w, vaultParam(event), id(event)));
      return json(200, publicItem(await getWork(w, vaultParam(event), id(event))));
    },
    'DELETE /vaults/{vault}/work/{id}': async (event) => {
      await cancelWork(w, vaultParam(event), id(event));
      return { statusCode: 204 };
    },
  };
}

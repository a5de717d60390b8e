/** The repair system's routes: explain an object, start and show a vault's rebuild. */
import type { wireExplain, wireRebuildControl } from '../../shared/aws/repair/wire.ts';
import { RebuildNotFoundError } from '../../shared/errors.ts';
import {
  explainObject,
  explainPageSchema,
  parseRebuildRequest,
  publicJob,
  startRebuild,
} from '../../shared/repair/index.ts';
import { validateKey } from '../../shared/store/index.ts';
import { parseWith } from '../../shared/validate.ts';
import { json, jsonBody, type Route } from '../http.ts';
import { vaultParam } from './store.ts';

export interface RepairApi {
  control: ReturnType<typeof wireRebuildControl>;
  explain: ReturnType<typeof wireExplain>;
}

export function repairRoutes(r: RepairApi): Record<string, Route> {
  return {
    'POST /vaults/{vault}/rebuild': async (event) => {
      const request = parseRebuildRequest(event.body ? jsonBody(event) : undefined);
      return json(202, publicJob(await startRebuild(r.control, vaultParam(event), request)));
    },
    'GET /vaults/{vault}/rebuild': async (event) => {
      const vault = vaultParam(event);
      const job = await r.control.jobs.get(vault);
      if (job) return json(200, publicJob(job)); // jobs exist only for vaults (polled by --watch)
      await r.control.vaults.get(vault); // an unknown vault is a 404 of its own
      throw new RebuildNotFoundError(vault);
    },
  };
}

/**
 * `GET /vaults/{vault}/objects/{key+}?explain[&cursor=S][&limit=N]`: the store's GET route hands
 * it over. A page of segments at a time; `cursor` in the answer says where the next starts.
 */
export function explainRoute(r: RepairApi): Route {
  return async (event) => {
    const { explain: _, ...query } = event.queryStringParameters ?? {};
    return json(
      200,
      await explainObject(
        r.explain,
        vaultParam(event),
        validateKey(event.pathParameters?.key, 'key'),
        parseWith(explainPageSchema, query),
      ),
    );
  };
}

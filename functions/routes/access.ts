/**
 * Access control's routes (`/admin/keys`, `/sessions`), and the policy check every route of
 * the API passes first: which action on which vault and key each route is (`ROUTE_ACTIONS`),
 * checked against the caller's policy with `allows`. A route missing from the table is
 * refused, so a new route cannot go out unguarded. The check uses names only, so a caller who
 * may not see a vault gets the same 403 whether it exists or not.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  type Action,
  allows,
  createKey,
  createSession,
  disableKey,
  isAdmin,
  type KeyDeps,
  listKeys,
  type Principal,
  rotateKey,
} from '../../shared/access/index.ts';
import { AccessDeniedError } from '../../shared/errors.ts';
import { type HttpResult, json, jsonBody, principalOf, type Route } from '../http.ts';

/** What a route does, for the policy: an action on a vault (and key), or a rule of its own. */
type Need =
  | { action: Action; vault?: string; key?: string }
  | 'any signer'
  | 'admin of everything'
  | 'public';

const vaultOf = (e: APIGatewayProxyEventV2) => e.pathParameters?.vault ?? '';
const keyOf = (e: APIGatewayProxyEventV2) => e.pathParameters?.key ?? '';
/** A field of a JSON body, when there is one; the route itself refuses a bad body. */
function bodyField(e: APIGatewayProxyEventV2, field: string): string | undefined {
  try {
    const value = (jsonBody(e) as Record<string, unknown> | null)?.[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Every route's need: the table the access test walks, route by route. */
export const ROUTE_ACTIONS: Record<string, (e: APIGatewayProxyEventV2) => Need> = {
  // The report names the units and their state: no secret, but not for anyone with the URL.
  'GET /health': () => 'any signer',
  // The console's built files: the same for everyone, no secret in them, and a browser must load
  // them before it has a key to sign with. Their routes name no authorizer (serverless.yml).
  'GET /console': () => 'public',
  'GET /console/{path+}': () => 'public',
  'POST /sessions': () => 'any signer',
  // The API's description: the same for every caller, and names no vault.
  'GET /openapi.json': () => 'any signer',
  'POST /admin/keys': () => 'admin of everything',
  'GET /admin/keys': () => 'admin of everything',
  'DELETE /admin/keys/{id}': () => 'admin of everything',
  'POST /admin/keys/{id}/rotate': () => 'admin of everything',
  // The control path: commands change the network, the log and the roles show how it is run.
  'GET /admin/roles': () => 'admin of everything',
  'POST /admin/commands': () => 'admin of everything',
  'GET /admin/commands': () => 'admin of everything',
  'GET /admin/commands/{id}': () => 'admin of everything',
  'POST /vaults': (e) => ({ action: 'admin', vault: bodyField(e, 'name') ?? '*' }),
  // Answered with the vaults the caller may list (filterVaults).
  'GET /vaults': () => 'any signer',
  'GET /vaults/{vault}': (e) => ({ action: 'list', vault: vaultOf(e) }),
  'PUT /vaults/{vault}/objects/{key+}': (e) => ({
    action: 'write',
    vault: vaultOf(e),
    key: keyOf(e),
  }),
  'GET /vaults/{vault}/objects/{key+}': (e) => ({
    action: 'read',
    vault: vaultOf(e),
    key: keyOf(e),
  }),
  'HEAD /vaults/{vault}/objects/{key+}': (e) => ({
    action: 'read',
    vault: vaultOf(e),
    key: keyOf(e),
  }),
  'DELETE /vaults/{vault}/objects/{key+}': (e) => ({
    action: 'delete',
    vault: vaultOf(e),
    key: keyOf(e),
  }),
  // A listing without a prefix covers every key, so a prefix-bound key must name its prefix.
  'GET /vaults/{vault}/objects': (e) => ({
    action: 'list',
    vault: vaultOf(e),
    key: e.queryStringParameters?.prefix ?? '',
  }),
  // A revision names no key in its path: only a grant on the whole vault (no prefix) reads it.
  'GET /vaults/{vault}/revisions/{revision}': (e) => ({
    action: 'read',
    vault: vaultOf(e),
    key: '',
  }),
  'POST /vaults/{vault}/rebuild': (e) => ({ action: 'admin', vault: vaultOf(e) }),
  'GET /vaults/{vault}/rebuild': (e) => ({ action: 'read', vault: vaultOf(e) }),
  // A vault's layout is the operators' to change; on the local cloud every caller is root.
  'POST /vaults/{vault}/topology': () => 'admin of everything',
  'GET /vaults/{vault}/topology': (e) => ({ action: 'list', vault: vaultOf(e) }),
  'GET /vaults/{vault}/topology/job': (e) => ({ action: 'list', vault: vaultOf(e) }),
  'POST /vaults/{vault}/uploads': (e) => ({
    action: 'write',
    vault: vaultOf(e),
    key: bodyField(e, 'key') ?? '',
  }),
  'PUT /vaults/{vault}/uploads/{upload}/parts/{part}': (e) => ({
    action: 'write',
    vault: vaultOf(e),
  }),
  'POST /vaults/{vault}/uploads/{upload}/complete': (e) => ({ action: 'write', vault: vaultOf(e) }),
  'GET /vaults/{vault}/uploads/{upload}': (e) => ({ action: 'write', vault: vaultOf(e) }),
  'DELETE /vaults/{vault}/uploads/{upload}': (e) => ({ action: 'write', vault: vaultOf(e) }),
  // A client's dispersal: the write grant of a PUT of its key to open it; the revision then
  // names the key, and only the root key that opened it may feed it (routes/store.ts).
  'POST /vaults/{vault}/dispersals': (e) => ({
    action: 'write',
    vault: vaultOf(e),
    key: bodyField(e, 'key') ?? '',
  }),
  'POST /vaults/{vault}/dispersals/{revision}/urls': (e) => ({
    action: 'write',
    vault: vaultOf(e),
  }),
  'POST /vaults/{vault}/dispersals/{revision}/segments': (e) => ({
    action: 'write',
    vault: vaultOf(e),
  }),
  'POST /vaults/{vault}/dispersals/{revision}/complete': (e) => ({
    action: 'write',
    vault: vaultOf(e),
  }),
  'DELETE /vaults/{vault}/dispersals/{revision}': (e) => ({
    action: 'write',
    vault: vaultOf(e),
  }),
  'GET /vaults/{vault}/dispersals': (e) => ({ action: 'write', vault: vaultOf(e) }),
  'GET /vaults/{vault}/dispersals/{revision}': (e) => ({ action: 'write', vault: vaultOf(e) }),
  // A client's own read: the read grant of a GET of its key, for its URLs and its damage.
  'POST /vaults/{vault}/retrievals': (e) => ({
    action: 'read',
    vault: vaultOf(e),
    key: bodyField(e, 'key') ?? '',
  }),
  'POST /vaults/{vault}/retrievals/damage': (e) => ({
    action: 'read',
    vault: vaultOf(e),
    key: bodyField(e, 'key') ?? '',
  }),
  // Work ops read and write any key of the vault, and their results carry what they read: a
  // prefix-bound key may not add, see or cancel them.
  'POST /vaults/{vault}/work': (e) => ({ action: 'write', vault: vaultOf(e), key: '' }),
  'GET /vaults/{vault}/work': (e) => ({ action: 'list', vault: vaultOf(e), key: '' }),
  'GET /vaults/{vault}/work/{id}': (e) => ({ action: 'read', vault: vaultOf(e), key: '' }),
  'DELETE /vaults/{vault}/work/{id}': (e) => ({ action: 'delete', vault: vaultOf(e), key: '' }),
  // A listener reads the events of its path; where it delivers is checked by its route
  // (routes/listeners.ts), and so is the path of one named by id.
  'POST /vaults/{vault}/listeners': (e) => ({
    action: 'read',
    vault: vaultOf(e),
    key: bodyField(e, 'path') ?? '',
  }),
  // Renewing a temporary listener (dsn watch) is part of holding it.
  'PATCH /vaults/{vault}/listeners/{id}': (e) => ({ action: 'read', vault: vaultOf(e) }),
  // Every listener of the vault, with its target: a prefix-bound key may not list them.
  'GET /vaults/{vault}/listeners': (e) => ({ action: 'list', vault: vaultOf(e), key: '' }),
  'GET /vaults/{vault}/listeners/{id}': (e) => ({ action: 'read', vault: vaultOf(e) }),
  'DELETE /vaults/{vault}/listeners/{id}': (e) => ({ action: 'delete', vault: vaultOf(e) }),
  // Replication copies between vaults and outside buckets with the functions' own role, which
  // may reach buckets the caller's key cannot: jobs and rules are the operator's.
  'POST /replications': () => 'admin of everything',
  'GET /replications': () => 'admin of everything',
  'GET /replications/{id}': () => 'admin of everything',
  'GET /replications/{id}/tasks': () => 'admin of everything',
  'POST /replications/{id}/restart': () => 'admin of everything',
  'POST /replications/{id}/cancel': () => 'admin of everything',
  'POST /replications/{id}/tasks/{task}/migrate': () => 'admin of everything',
  'PUT /vaults/{vault}/replication': () => 'admin of everything',
  'GET /vaults/{vault}/replication': (e) => ({ action: 'admin', vault: vaultOf(e), key: '' }),
  'DELETE /vaults/{vault}/replication': () => 'admin of everything',
  'GET /admin/edge': () => 'admin of everything',
  'PUT /admin/edge/groups/{group}': () => 'admin of everything',
  'GET /admin/edge/groups/{group}': () => 'admin of everything',
  'POST /admin/edge/plan': () => 'admin of everything',
  'GET /admin/edge/plan': () => 'admin of everything',
  // The scan routes check admin themselves too (routes/scan.ts).
  'PUT /admin/scan-rules': () => 'admin of everything',
  'GET /admin/scan-rules': () => 'admin of everything',
};

/**
 * Refuses `event` unless the caller's policy allows its route.
 * @throws AccessDeniedError (403)
 */
export function checkPolicy(event: APIGatewayProxyEventV2, caller: Principal): void {
  const needOf = ROUTE_ACTIONS[event.routeKey];
  if (!needOf) throw new AccessDeniedError('this route', 'anything (the route has no policy rule)');
  const need = needOf(event);
  if (need === 'any signer' || need === 'public') return;
  if (need === 'admin of everything') {
    if (!isAdmin(caller.policy)) throw new AccessDeniedError('admin', 'every vault');
    return;
  }
  if (!allows(caller.policy, need.action, need.vault ?? '', need.key)) {
    const on =
      need.key !== undefined && need.key !== ''
        ? `"${need.vault}/${need.key}"`
        : `vault "${need.vault}"`;
    throw new AccessDeniedError(need.action, on);
  }
}

/** `GET /vaults` answered with only the vaults the caller may list. */
export function filterVaults(result: HttpResult, caller: Principal): HttpResult {
  if (result.statusCode !== 200 || typeof result.body !== 'string') return result;
  const body = JSON.parse(result.body) as { vaults: Array<{ name: string }> };
  const vaults = body.vaults.filter((v) => allows(caller.policy, 'list', v.name));
  return { ...result, body: JSON.stringify({ ...body, vaults }) };
}

const idOf = (e: APIGatewayProxyEventV2) => e.pathParameters?.id ?? '';

export function accessRoutes(deps: KeyDeps): Record<string, Route> {
  return {
    'POST /admin/keys': async (event) => json(201, await createKey(deps, jsonBody(event))),
    'GET /admin/keys': async () => json(200, { keys: await listKeys(deps) }),
    'DELETE /admin/keys/{id}': async (event) => json(200, await disableKey(deps, idOf(event))),
    'POST /admin/keys/{id}/rotate': async (event) => json(201, await rotateKey(deps, idOf(event))),
    'POST /sessions': async (event) =>
      json(
        201,
        await createSession(deps, principalOf(event), event.body ? jsonBody(event) : undefined),
      ),
  };
}

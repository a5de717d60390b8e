/**
 * The control path's routes: admin commands (`POST /admin/commands`) and their audit log, and
 * the leased roles (`GET /admin/roles`). The check every write route passes first, that its
 * vault is not frozen, is here too.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { validateVaultName } from '../../shared/store/index.ts';
import {
  type CommandDeps,
  type FreezeGate,
  getCommand,
  listCommands,
  listRoles,
  runCommand,
} from '../../shared/topology/index.ts';
import { json, jsonBody, principalOf, type Route } from '../http.ts';

export function adminRoutes(deps: CommandDeps): Record<string, Route> {
  return {
    'POST /admin/commands': async (event) =>
      json(201, await runCommand(deps, principalOf(event).accessKeyId, jsonBody(event))),
    'GET /admin/commands': async (event) =>
      json(200, await listCommands(deps, event.queryStringParameters ?? {})),
    'GET /admin/commands/{id}': async (event) =>
      json(200, await getCommand(deps, event.pathParameters?.id ?? '')),
    'GET /admin/roles': async () => json(200, { roles: await listRoles(deps) }),
  };
}

/** The routes that write a vault's objects: a frozen vault refuses them (reads go on). */
const WRITE_ROUTES = new Set([
  'PUT /vaults/{vault}/objects/{key+}',
  'DELETE /vaults/{vault}/objects/{key+}',
  'POST /vaults/{vault}/uploads',
  'PUT /vaults/{vault}/uploads/{upload}/parts/{part}',
  'POST /vaults/{vault}/uploads/{upload}/complete',
]);

/** @throws VaultFrozenError (423) when `event` writes to a frozen vault. */
export async function checkNotFrozen(
  gate: FreezeGate,
  event: APIGatewayProxyEventV2,
): Promise<void> {
  const vault = event.pathParameters?.vault;
  if (vault === undefined || !WRITE_ROUTES.has(event.routeKey)) return;
  // A name no vault can have is the route's 400 (naming `vault`), never a lookup.
  await gate.assertWritable(validateVaultName(vault, 'vault'));
}

/** The listeners system's routes: create, list, show, renew and remove a vault's listeners. */
import { allows, type Principal } from '../../shared/access/index.ts';
import { AccessDeniedError, ListenerNotFoundError } from '../../shared/errors.ts';
import type { RegistryDeps } from '../../shared/listeners/index.ts';
import {
  createListener,
  isWatchQueueOf,
  listenPathSchema,
  listListeners,
  removeListener,
  renewListener,
  showListener,
} from '../../shared/listeners/index.ts';
import { parseWith, resourceId } from '../../shared/validate.ts';
import { json, jsonBody, principalOf, type Route } from '../http.ts';
import { vaultParam } from './store.ts';

/** A listener id as a client sends it back: bounded, checked before it becomes a table key. */
export const listenerIdSchema = resourceId();

function idParam(event: Parameters<Route>[0]): string {
  return parseWith(listenerIdSchema, event.pathParameters?.id, { name: 'id' });
}

/**
 * Where a caller may have events delivered. The delivery role sends with its own rights, so
 * a key that may read a path may point a listener at a webhook (outside the account) or at its
 * own `dsn watch` queues (named for its key: watchQueueName), and only an admin of the vault at
 * any other queue or at a Lambda function of the account.
 * @throws AccessDeniedError
 */
function checkTarget(caller: Principal, vault: string, body: unknown): void {
  const target = (body as { target?: { type?: unknown; queueUrl?: unknown } } | null)?.target;
  // Anything else is refused by the body's schema, naming the field.
  if (target?.type !== 'sqs' && target?.type !== 'lambda') return;
  if (
    target.type === 'sqs' &&
    typeof target.queueUrl === 'string' &&
    isWatchQueueOf(target.queueUrl, caller.accessKeyId)
  )
    return;
  if (allows(caller.policy, 'admin', vault, '')) return;
  throw new AccessDeniedError(
    'admin',
    `vault "${vault}", which a listener delivering to ${target.type === 'sqs' ? 'a queue other than your own dsn watch queues' : 'a Lambda function'} needs`,
  );
}

/**
 * Refuses a listener whose path the caller's policy does not grant `action` on, as one that
 * does not exist (404): a key bound to a prefix sees and manages the listeners under it only.
 */
async function checkListenerPath(
  deps: RegistryDeps,
  caller: Principal,
  vault: string,
  id: string,
  action: 'read' | 'delete',
): Promise<void> {
  const found = await deps.listeners.get(vault, id);
  if (found && !allows(caller.policy, action, vault, found.path))
    throw new ListenerNotFoundError(vault, id);
}

export function listenerRoutes(deps: RegistryDeps): Record<string, Route> {
  return {
    'POST /vaults/{vault}/listeners': async (event) => {
      const vault = vaultParam(event);
      const body = jsonBody(event);
      checkTarget(principalOf(event), vault, body);
      return json(201, await createListener(deps, vault, body));
    },
    'GET /vaults/{vault}/listeners': async (event) => {
      const raw = event.queryStringParameters?.path;
      const path =
        raw === undefined ? undefined : parseWith(listenPathSchema, raw, { name: 'path' });
      return json(200, { listeners: await listListeners(deps, vaultParam(event), path) });
    },
    'GET /vaults/{vault}/listeners/{id}': async (event) => {
      const vault = vaultParam(event);
      const id = idParam(event);
      await checkListenerPath(deps, principalOf(event), vault, id, 'read');
      return json(200, await showListener(deps, vault, id));
    },
    'PATCH /vaults/{vault}/listeners/{id}': async (event) => {
      const vault = vaultParam(event);
      const id = idParam(event);
      await checkListenerPath(deps, principalOf(event), vault, id, 'read');
      return json(200, await renewListener(deps, vault, id, jsonBody(event)));
    },
    'DELETE /vaults/{vault}/listeners/{id}': async (event) => {
      const vault = vaultParam(event);
      const id = idParam(event);
      await checkListenerPath(deps, principalOf(event), vault, id, 'delete');
      await removeListener(deps, vault, id);
      return { statusCode: 204 };
    },
  };
}

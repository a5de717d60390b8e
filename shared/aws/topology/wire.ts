/**
 * The topology system's wiring: leased roles (and the fenced runtime their holders write
 * through), and the control path's commands with their audit log.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../config.ts';
import {
  type CommandDeps,
  notFrozenCache,
  type RoleDeps,
  type TopologyChanges,
} from '../../topology/index.ts';
import type { Runtime } from '../runtime.ts';
import { wireVaults } from '../store/wire.ts';
import { DynamoAuditLog } from './audit-log.ts';
import { AsyncFenceScope, fencedDocuments } from './fence.ts';
import { DynamoFreezeStore } from './freezes.ts';
import { DynamoRoleLeases } from './role-leases.ts';
import { unavailableTopologyChanges } from './topology-changes.ts';

/** The role leases alone (`GET /admin/roles`, `role.release`). */
export function wireRoleLeases(rt: Runtime) {
  const { adminTable } = loadConfig(rt.env, ['adminTable']);
  return { leases: new DynamoRoleLeases(rt.clients.documents, adminTable), clock: rt.clock };
}

/**
 * What a function that takes roles needs: the role deps (`holder` names this execution
 * environment), and `fenced`, a runtime like `rt` whose DynamoDB writes made while holding a
 * role carry its token. Wire the role's protected adapters from `fenced`.
 */
export function wireRoles(
  rt: Runtime,
  name: string,
  leaseMs?: number,
): { roles: RoleDeps; fenced: Runtime } {
  const { leases } = wireRoleLeases(rt);
  const fences = new AsyncFenceScope();
  const documents = fencedDocuments(rt.clients.documents, fences, leases);
  return {
    roles: {
      leases,
      fences,
      clock: rt.clock,
      holder: `${name}-${randomUUID().slice(0, 8)}`,
      ...(leaseMs === undefined ? {} : { leaseMs }),
    },
    fenced: { ...rt, clients: { ...rt.clients, documents } },
  };
}

/**
 * A storage unit's refusal of a frozen vault's slices: its freeze mark. A vault found not
 * frozen is trusted for `FREEZE_CACHE_MS` (a unit handles many messages a second; vault.freeze
 * waits that out before it answers); a frozen one is read again on every message, so an
 * unfreeze takes effect at once.
 */
export function wireUnitRefusal(rt: Runtime, unit: number) {
  const { adminTable } = loadConfig(rt.env, ['adminTable']);
  const freezes = new DynamoFreezeStore(rt.clients.documents, adminTable);
  const markOf = notFrozenCache(rt.clock, (vault) => freezes.unitFreeze(vault, unit));
  return async (vault: string): Promise<string | undefined> => {
    const mark = await markOf(vault);
    return mark
      ? `unit ${unit} refuses slices of vault "${vault}": frozen by command ${mark.command}`
      : undefined;
  };
}

/** The control path: the audit log, freezes, leases, vaults, and the topology changes. */
export function wireCommands(
  rt: Runtime,
  topology: TopologyChanges = unavailableTopologyChanges,
): CommandDeps {
  const { adminTable } = loadConfig(rt.env, ['adminTable']);
  return {
    audit: new DynamoAuditLog(rt.clients.documents, adminTable),
    freezes: new DynamoFreezeStore(rt.clients.documents, adminTable),
    leases: new DynamoRoleLeases(rt.clients.documents, adminTable),
    vaults: wireVaults(rt),
    topology,
    clock: rt.clock,
  };
}

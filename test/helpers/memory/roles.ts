/**
 * The topology system's ports in memory, as their DynamoDB adapters behave: role leases with
 * conditional acquire, renew and release and a token that only grows; the audit log; freeze
 * marks; and a fence scope that tells which fence the running code holds.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  AuditLog,
  CommandRecord,
  Fence,
  FenceScope,
  Freeze,
  FreezeStore,
  Lease,
  RoleLeases,
} from '../../../shared/topology/index.ts';
import { document } from './documents.ts';

export class MemoryRoleLeases implements RoleLeases {
  readonly items = new Map<string, Lease>();

  async acquire(role: string, holder: string, now: number, expiresAt: number) {
    const was = this.items.get(role);
    if (was?.holder !== undefined && was.expiresAt > now) return undefined;
    const lease: Lease = {
      role,
      holder,
      token: (was?.token ?? 0) + 1,
      expiresAt,
      acquiredAt: now,
      renewedAt: now,
      ...(was?.releasedAt === undefined ? {} : { releasedAt: was.releasedAt }),
    };
    this.items.set(role, lease);
    return document(lease);
  }

  async renew(role: string, token: number, now: number, expiresAt: number) {
    const was = this.items.get(role);
    if (was?.token !== token || was.holder === undefined) return undefined;
    const lease = { ...was, expiresAt, renewedAt: now };
    this.items.set(role, lease);
    return document(lease);
  }

  async release(role: string, token: number, now: number) {
    const was = this.items.get(role);
    if (was?.token !== token || was.holder === undefined) return false;
    const { holder: _holder, ...rest } = was;
    this.items.set(role, { ...rest, expiresAt: 0, releasedAt: now });
    return true;
  }

  async get(role: string) {
    const lease = this.items.get(role);
    return lease ? document(lease) : undefined;
  }

  async list() {
    return [...this.items.values()].map((l) => document(l));
  }
}

/** The fence the running code holds, and a store that refuses a write of an older token. */
export class MemoryFenceScope implements FenceScope {
  private readonly storage = new AsyncLocalStorage<Fence>();
  run<T>(fence: Fence, fn: () => Promise<T>): Promise<T> {
    return this.storage.run(fence, fn);
  }
  current(): Fence | undefined {
    return this.storage.getStore();
  }
}

export class MemoryAuditLog implements AuditLog {
  readonly items = new Map<string, CommandRecord>();
  async begin(record: CommandRecord) {
    if (this.items.has(record.id)) throw new Error(`command ${record.id} begun twice`);
    this.items.set(record.id, document(record));
  }
  async finish(record: CommandRecord) {
    this.items.set(record.id, document(record));
  }
  async get(id: string) {
    const record = this.items.get(id);
    return record ? document(record) : undefined;
  }
  async list(limit: number, cursor?: string) {
    const all = [...this.items.values()]
      .filter((r) => cursor === undefined || r.id < cursor)
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const commands = all.slice(0, limit).map((r) => document(r));
    const last = commands.at(-1);
    return all.length > limit && last ? { commands, cursor: last.id } : { commands };
  }
}

export class MemoryFreezeStore implements FreezeStore {
  readonly vaults = new Map<string, Freeze>();
  readonly units = new Map<string, Set<number>>();
  /** Units whose marks fail, to see a failed operation recorded. */
  readonly failing = new Set<number>();

  async get(vault: string) {
    const freeze = this.vaults.get(vault);
    return freeze ? document(freeze) : undefined;
  }
  async freezeVault(freeze: Freeze) {
    if (this.vaults.has(freeze.vault)) return false;
    this.vaults.set(freeze.vault, document(freeze));
    return true;
  }
  async unfreezeVault(vault: string) {
    return this.vaults.delete(vault);
  }
  private unitsOf(vault: string): Set<number> {
    const units = this.units.get(vault) ?? new Set<number>();
    this.units.set(vault, units);
    return units;
  }
  async freezeUnit(vault: string, unit: number) {
    if (this.failing.has(unit)) throw new Error(`unit ${unit} is down`);
    const units = this.unitsOf(vault);
    if (units.has(unit)) return false;
    units.add(unit);
    return true;
  }
  async unfreezeUnit(vault: string, unit: number) {
    return this.unitsOf(vault).delete(unit);
  }
  async unitFreeze(vault: string, unit: number) {
    return this.unitsOf(vault).has(unit) ? { command: 'memory', at: '' } : undefined;
  }
  async frozenUnits(vault: string) {
    return [...this.unitsOf(vault)].sort((a, b) => a - b);
  }
}

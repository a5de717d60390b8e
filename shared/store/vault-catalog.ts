/**
 * The vault catalog's operations over its ports: creating a vault and keeping its units'
 * subscriptions in step, the default vault, and a unit's cached view of what it serves.
 */
import { type Clock, systemClock } from '../clock.ts';
import { VaultExistsError, VaultNotFoundError } from '../errors.ts';
import type { SubscriptionManager, VaultStore } from './ports.ts';
import { DEFAULT_VAULT, planVault, unitSubscriptions, type Vault } from './vault.ts';

/**
 * Creates a vault and subscribes its units to its address.
 *
 * Two vaults created at once on a shared unit could each set that unit's filter policy from a
 * list missing the other; recomputing from the stored vaults after the write, until the list
 * stops changing, makes the last writer's view complete.
 * @throws InvalidParameterError for a bad request, VaultExistsError for a taken name.
 */
export async function createVault(
  deps: { vaults: VaultStore; subscriptions: SubscriptionManager; poolSize: number },
  body: unknown,
): Promise<Vault> {
  const existing = await deps.vaults.list();
  const usage = Array.from({ length: deps.poolSize }, (_, unit) =>
    existing.reduce((n, v) => n + (v.units.includes(unit) ? 1 : 0), 0),
  );
  const vault = planVault(body, deps.poolSize, usage);
  await deps.vaults.create(vault);
  await syncSubscriptions(deps, vault.units);
  return vault;
}

/** Sets each of `units`' filter policies from the stored vaults. Idempotent. */
export async function syncSubscriptions(
  deps: { vaults: VaultStore; subscriptions: SubscriptionManager },
  units: number[],
): Promise<void> {
  let previous = '';
  for (let round = 0; round < 3; round++) {
    const vaults = await deps.vaults.list();
    const plan = units.map((u) => unitSubscriptions(u, vaults));
    const signature = JSON.stringify(plan);
    if (signature === previous) return;
    await Promise.all(units.map((u, i) => deps.subscriptions.setAddresses(u, plan[i] as string[])));
    previous = signature;
  }
}

/**
 * Makes sure the `default` vault (4-of-6, T = 5, on units 0 to 5) exists. serverless.yml
 * already subscribes those units to its address. Idempotent; a pool under six units has none.
 */
export async function ensureDefaultVault(deps: {
  vaults: VaultStore;
  poolSize: number;
}): Promise<void> {
  if (deps.poolSize < DEFAULT_VAULT.width) return;
  try {
    await deps.vaults.get(DEFAULT_VAULT.name);
  } catch (err) {
    if (!(err instanceof VaultNotFoundError)) throw err;
    const units = [...Array(DEFAULT_VAULT.width).keys()];
    try {
      await deps.vaults.create(planVault({ ...DEFAULT_VAULT, units }, deps.poolSize, []));
    } catch (e) {
      if (!(e instanceof VaultExistsError)) throw e;
    }
  }
}

/**
 * A vault store that keeps what it read for `ttlMs` (vaults are never updated once created, so
 * a stale entry can only miss a vault created since). Callers that ask while a read is under
 * way share it, and a read that fails is not kept. The writer and the units' subscription views
 * read vaults through one of these.
 */
export class CachingVaultStore implements VaultStore {
  private readonly store: VaultStore;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly byName = new Map<string, { at: number; vault: Promise<Vault> }>();
  private all: { at: number; vaults: Promise<Vault[]> } | undefined;

  constructor(store: VaultStore, options: { clock?: Clock; ttlMs?: number } = {}) {
    this.store = store;
    this.clock = options.clock ?? systemClock;
    this.ttlMs = options.ttlMs ?? VAULT_TTL_MS;
  }

  async create(vault: Vault): Promise<void> {
    await this.store.create(vault);
    this.all = undefined;
  }

  get(name: string): Promise<Vault> {
    const now = this.clock.now();
    const hit = this.byName.get(name);
    if (hit && now - hit.at < this.ttlMs) return hit.vault;
    const read = { at: now, vault: this.store.get(name) };
    read.vault.catch(() => {
      if (this.byName.get(name) === read) this.byName.delete(name);
    });
    this.byName.set(name, read);
    return read.vault;
  }

  /** The vaults, read again when older than `maxAgeMs` (default: the store's TTL). */
  list(maxAgeMs = this.ttlMs): Promise<Vault[]> {
    const now = this.clock.now();
    if (this.all && now - this.all.at < Math.min(maxAgeMs, this.ttlMs)) return this.all.vaults;
    const read = { at: now, vaults: this.store.list() };
    read.vaults.catch(() => {
      if (this.all === read) this.all = undefined;
    });
    this.all = read;
    return read.vaults;
  }
}

/** A vault never changes once created (there is no update), so a reader keeps it a while. */
const VAULT_TTL_MS = 30_000;

/** A refresh reads the vaults again at most this often, so a flood of foreign messages costs little. */
const REFRESH_MIN_MS = 1000;

/**
 * A unit's subscribed addresses, from the stored vaults through a caching store; a `refresh`
 * reads again when the last read is over a second old (a message for an address the unit does
 * not know may come from a vault created since).
 */
export function vaultSubscriptionView(vaults: VaultStore, unit: number, ttlMs = VAULT_TTL_MS) {
  const cached =
    vaults instanceof CachingVaultStore ? vaults : new CachingVaultStore(vaults, { ttlMs });
  return {
    async addresses(options?: { refresh: boolean }): Promise<Set<string>> {
      const all = await cached.list(options?.refresh ? REFRESH_MIN_MS : undefined);
      return new Set(unitSubscriptions(unit, all));
    },
  };
}

/**
 * The vault catalog's operations over its ports: creating a vault and keeping its units'
 * subscriptions in step, the default vault, and a unit's cached view of what it serves.
 */
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
 * A unit's subscribed addresses, read from the stored vaults and cached for `ttlMs`; a
 * `refresh` reads again (at most once a second, so a flood of foreign messages costs little).
 * Callers that ask while a read is under way share it (a batch's deliveries ask at once); a
 * read that fails is not kept.
 */
export function vaultSubscriptionView(vaults: VaultStore, unit: number, ttlMs = 30_000) {
  let cached: { at: number; addresses: Promise<Set<string>> } | undefined;
  return {
    addresses(options?: { refresh: boolean }): Promise<Set<string>> {
      const now = Date.now();
      if (!cached || now - cached.at > ttlMs || (options?.refresh && now - cached.at > 1000)) {
        const read = {
          at: now,
          addresses: vaults.list().then((all) => new Set(unitSubscriptions(unit, all))),
        };
        read.addresses.catch(() => {
          if (cached === read) cached = undefined;
        });
        cached = read;
      }
      return cached.addresses;
    },
  };
}

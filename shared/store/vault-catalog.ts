/**
 * The vault catalog's operations over its ports: creating a vault, the default vault, and a
 * unit's cached view of the vaults it serves.
 */
import { type Clock, systemClock } from '../clock.ts';
import { VaultExistsError, VaultNotFoundError } from '../errors.ts';
import type { VaultStore } from './ports.ts';
import { DEFAULT_VAULT, planVault, unitSubscriptions, type Vault } from './vault.ts';

/**
 * Creates a vault on the least used units of the pool: one conditional write, so a vault is
 * whole or absent. Nothing about the network changes: messages name the units they are for,
 * and each unit's subscription filters on its own address alone (see TARGETS_ATTRIBUTE).
 * @throws InvalidParameterError for a bad request, VaultExistsError for a taken name.
 */
export async function createVault(
  deps: {
    vaults: VaultStore;
    poolSize: number;
    memoryBytes: number;
    clock: Clock;
    /** Units marked `edge: true`: never in a vault. */
    edgeUnits?: readonly number[];
  },
  body: unknown,
): Promise<Vault> {
  const existing = await deps.vaults.list();
  const usage = Array.from({ length: deps.poolSize }, (_, unit) =>
    existing.reduce((n, v) => n + (v.units.includes(unit) ? 1 : 0), 0),
  );
  const vault = planVault(
    body,
    deps.poolSize,
    usage,
    deps.clock.date(),
    deps.memoryBytes,
    deps.edgeUnits,
  );
  await deps.vaults.create(vault);
  return vault;
}

/**
 * Makes sure the `default` vault (4-of-6, T = 5, on units 0 to 5) exists. Idempotent; a pool under six units has none.
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
 * A vault store that keeps what it read for `ttlMs` (a vault by name for at most a second, since its
 * topology may change; the list longer: a vault created since is found by a refresh, so
 * a stale entry can only miss a vault created since). Callers that ask while a read is under
 * way share it, and a read that fails is not kept. The writer and the units' subscription views
 * read vaults through one of these.
 */
export class CachingVaultStore implements VaultStore {
  private readonly store: VaultStore;
  readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly byName = new Map<string, { at: number; vault: Promise<Vault> }>();
  private all: { at: number; vaults: Promise<Vault[]> } | undefined;
  private refreshing: Promise<Vault[]> | undefined;

  constructor(store: VaultStore, options: { clock?: Clock; ttlMs?: number } = {}) {
    this.store = store;
    this.clock = options.clock ?? systemClock;
    this.ttlMs = options.ttlMs ?? VAULT_TTL_MS;
  }

  async create(vault: Vault): Promise<void> {
    await this.store.create(vault);
    this.all = undefined;
  }

  get(name: string, options?: { fresh?: boolean }): Promise<Vault> {
    const now = this.clock.now();
    const hit = this.byName.get(name);
    if (hit && !options?.fresh && now - hit.at < Math.min(this.ttlMs, VAULT_GET_TTL_MS))
      return hit.vault;
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

  /**
   * The vaults read afresh, but at most once per `minIntervalMs`: a call within that time of
   * the last read waits out the rest, and every call meanwhile shares the one read that follows.
   */
  refresh(minIntervalMs: number): Promise<Vault[]> {
    if (this.refreshing) return this.refreshing;
    const wait = this.all ? this.all.at + minIntervalMs - this.clock.now() : 0;
    const run = async () => {
      if (wait > 0) await this.clock.sleep(wait);
      return this.list(0);
    };
    const refreshing = run().finally(() => {
      if (this.refreshing === refreshing) this.refreshing = undefined;
    });
    this.refreshing = refreshing;
    return refreshing;
  }
}

/** The vault list (for units' subscriptions) changes only when a vault is created or moved. */
const VAULT_TTL_MS = 30_000;

/**
 * A vault's topology (units and geometry) changes by quorum (shared/topology/): a writer sees a
 * new one within this, well inside the units' grace for writes under the old one.
 */
const VAULT_GET_TTL_MS = 1000;

/**
 * A refresh reads the vaults again at most this often, so a flood of foreign messages costs one
 * read a second.
 */
const REFRESH_MIN_MS = 1000;

/**
 * A unit's subscribed addresses, from the stored vaults through a caching store. A `refresh`
 * (asked for a message whose address the unit does not know: its vault may be newer than the
 * cache) reads again, waiting until a second has passed since the last read if need be, so a
 * message for a vault created a moment after that read is not taken for foreign.
 */
export function vaultSubscriptionView(
  vaults: VaultStore,
  unit: number,
  options: { ttlMs?: number; clock?: Clock } = {},
) {
  const cached =
    vaults instanceof CachingVaultStore ? vaults : new CachingVaultStore(vaults, options);
  return {
    async addresses(request?: { refresh: boolean }): Promise<Set<string>> {
      const all = await (request?.refresh ? cached.refresh(REFRESH_MIN_MS) : cached.list());
      return new Set(unitSubscriptions(unit, all));
    },
  };
}

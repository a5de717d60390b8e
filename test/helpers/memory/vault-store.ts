/** VaultStore in memory, as DynamoVaultStore keeps vaults: one document per name, create-only. */
import { VaultExistsError, VaultNotFoundError } from '../../../shared/errors.ts';
import type { Vault, VaultStore } from '../../../shared/store/index.ts';
import { document } from './documents.ts';

function toVault(item: Vault): Vault {
  return {
    name: item.name,
    width: item.width,
    readThreshold: item.readThreshold,
    writeThreshold: item.writeThreshold,
    segmentSize: item.segmentSize,
    units: [...item.units],
    address: item.address,
    createdAt: item.createdAt,
  };
}

export class MemoryVaultStore implements VaultStore {
  private readonly items = new Map<string, Vault>();

  /** A store already holding `vaults`, as if each had been created. */
  constructor(vaults: Vault[] = []) {
    for (const vault of vaults) {
      if (this.items.has(vault.name)) throw new VaultExistsError(vault.name);
      this.items.set(vault.name, document(vault));
    }
  }

  async create(vault: Vault): Promise<void> {
    if (this.items.has(vault.name)) throw new VaultExistsError(vault.name);
    this.items.set(vault.name, document(vault));
  }

  async get(name: string): Promise<Vault> {
    const item = this.items.get(name);
    if (!item) throw new VaultNotFoundError(name);
    return toVault(item);
  }

  async list(): Promise<Vault[]> {
    return [...this.items.values()].map(toVault).sort((a, b) => a.name.localeCompare(b.name));
  }
}

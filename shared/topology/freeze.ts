/**
 * Frozen vaults: an operator's `vault.freeze` stops every write to a vault (reads go on) until
 * `vault.unfreeze`. The vault's mark is what writers check; each of its units gets a mark of
 * its own, the per-unit operations of the command.
 */
import { VaultFrozenError } from '../errors.ts';
import type { Freeze, FreezeStore } from './ports.ts';

export type { Freeze };

/** @throws VaultFrozenError when `vault` is frozen. */
export async function assertWritable(freezes: FreezeStore, vault: string): Promise<void> {
  const freeze = await freezes.get(vault);
  if (freeze) throw new VaultFrozenError(vault, freeze.command, freeze.by, freeze.at);
}

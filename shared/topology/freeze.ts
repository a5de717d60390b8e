/**
 * Frozen vaults: an operator's `vault.freeze` stops every write to a vault (reads go on) until
 * `vault.unfreeze`. The vault's mark is what writers check; each of its units gets a mark of
 * its own, the per-unit operations of the command.
 *
 * Writers and units read marks on every write, so they remember a vault found not frozen for
 * `FREEZE_CACHE_MS`; `vault.freeze` waits that long (and a little) before it answers, so once
 * it has answered every writer and unit refuses. A frozen answer is never remembered: an
 * unfreeze takes effect at once.
 */
import type { Clock } from '../clock.ts';
import { VaultFrozenError } from '../errors.ts';
import { heldReads } from '../held-reads.ts';
import type { Freeze, FreezeStore } from './ports.ts';

export type { Freeze };

/** How long a writer or a unit trusts that a vault is not frozen. */
export const FREEZE_CACHE_MS = 2000;

/** How long `vault.freeze` waits after its marks are down before it answers. */
export const FREEZE_SETTLE_MS = FREEZE_CACHE_MS + 500;

/** @throws VaultFrozenError when `vault` is frozen. */
export async function assertWritable(freezes: FreezeStore, vault: string): Promise<void> {
  const freeze = await freezes.get(vault);
  if (freeze) throw new VaultFrozenError(vault, freeze.command, freeze.by, freeze.at);
}

/**
 * `read` (a vault's freeze mark, in some form), remembering for `FREEZE_CACHE_MS` the vaults
 * that have none. Concurrent asks for one vault share one read, so a burst of writes to a vault
 * costs one read, not one each; a mark found is never remembered.
 */
export function notFrozenCache<T>(
  clock: Clock,
  read: (vault: string) => Promise<T | undefined>,
): (vault: string) => Promise<T | undefined> {
  const held = heldReads(read, {
    now: () => clock.now(),
    ms: FREEZE_CACHE_MS,
    keep: (mark) => mark === undefined,
  });
  return (vault) => held(vault);
}

/** The check writers make, remembering for `FREEZE_CACHE_MS` the vaults found not frozen. */
export class FreezeGate {
  private readonly read: (vault: string) => Promise<Freeze | undefined>;

  constructor(freezes: FreezeStore, clock: Clock) {
    this.read = notFrozenCache(clock, (vault) => freezes.get(vault));
  }

  /** @throws VaultFrozenError when `vault` is frozen. */
  async assertWritable(vault: string): Promise<void> {
    const freeze = await this.read(vault);
    if (freeze) throw new VaultFrozenError(vault, freeze.command, freeze.by, freeze.at);
  }
}
